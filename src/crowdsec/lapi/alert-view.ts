import { formatDuration as formatGoDuration } from '../../config/index.js';
import type { DecisionService } from '../../decisions/index.js';
import type { Decision } from '../../decisions/index.js';
import { covers, tryParseTarget } from '../../net/ip.js';
import type { LapiAlert, LapiAlerts } from '../../store/index.js';
import { watcherOrigin } from './alerts.js';
import type { LapiDecisionReads } from './decision-reads.js';
import { remainingMs, wireScenario, wireScope } from './wire.js';

/**
 * Alerts as `cscli` sees them: each with the decisions Gatehouse enforces now, not the copy taken when it
 * came in (a decision deleted or expired since is gone from it), and the decisions no alert accounts for
 * (manual bans, feeds, a watcher's decisions whose alert was purged) under one stand-in alert per origin,
 * the way CrowdSec shows list and console decisions under alerts of their own.
 */

/** Decisions shown under one stand-in alert; the rest are counted in its message (a feed may hold a million). */
export const STAND_IN_DECISIONS = 10_000;

/**
 * Origins CrowdSec would count as local (`include_capi=false`, what `cscli decisions list` asks for by
 * default): what people and watchers decided. Feeds and pulled blocklists are CrowdSec's "lists" and CAPI,
 * shown with `cscli decisions list -a`.
 */
export function isLocalOrigin(origin: string): boolean {
  return origin === 'manual' || origin === 'engine' || origin.startsWith('lapi:');
}

export interface AlertView {
  readonly alert: LapiAlert;
  /** The origin whose decisions deleting this alert removes (a watcher's own, or the stand-in's). */
  readonly origin: string;
  readonly decisions: readonly Decision[];
  /** Live decisions of a stand-in beyond those shown. */
  readonly notShown: number;
}

export interface AlertFilter {
  /** An IP or range: alerts about it (source) or with a decision covering it. */
  readonly value?: string;
  /** Only decisions of this origin. */
  readonly origin?: string;
  readonly hasActiveDecision?: boolean;
  readonly includeCapi?: boolean;
}

export class AlertViews {
  constructor(
    private readonly alerts: LapiAlerts,
    private readonly decisions: DecisionService,
    private readonly reads: LapiDecisionReads,
  ) {}

  /** Makes sure every origin with decisions that no alert accounts for has its stand-in alert. */
  ensureStandIns(includeCapi: boolean): void {
    for (const origin of this.reads.activeOrigins()) {
      if (!includeCapi && !isLocalOrigin(origin)) continue;
      const oldest = origin.startsWith('lapi:') ? this.orphansOf(origin, 1)[0] : this.decisions.list({ origin, limit: 1 })[0];
      if (oldest) this.alerts.originAlert(origin, oldest.createdAt);
    }
  }

  /** The alert as cscli should see it, or undefined when the filter leaves nothing of it. */
  view(alert: LapiAlert, f: AlertFilter = {}): AlertView | undefined {
    const origin = alert.origin ?? watcherOrigin(alert.machineId);
    if (f.includeCapi === false && !isLocalOrigin(origin)) return undefined;
    let decisions: Decision[];
    let notShown = 0;
    if (alert.origin !== null) {
      const live = alert.origin.startsWith('lapi:')
        ? this.orphansOf(alert.origin, STAND_IN_DECISIONS + 1)
        : this.decisions.list({ origin: alert.origin, limit: STAND_IN_DECISIONS + 1 });
      decisions = live.slice(0, STAND_IN_DECISIONS);
      if (live.length > STAND_IN_DECISIONS) notShown = this.decisions.count({ origin: alert.origin }) - STAND_IN_DECISIONS;
      // A stand-in exists for its decisions only: without any it is not shown.
      if (decisions.length === 0) return undefined;
    } else {
      decisions = this.liveOf(alert);
    }
    if (f.origin !== undefined) decisions = decisions.filter((d) => d.origin === f.origin);
    if (f.value !== undefined) {
      const target = tryParseTarget(f.value);
      const aboutSource = alert.origin === null && (alert.sourceValue === f.value || alert.sourceValue === target?.text);
      if (!aboutSource) {
        decisions = decisions.filter((d) => {
          const dt = tryParseTarget(d.value);
          return d.value === f.value || (target !== undefined && dt !== undefined && covers(dt, target));
        });
        if (decisions.length === 0) return undefined;
      }
    }
    if (f.hasActiveDecision && decisions.length === 0) return undefined;
    return { alert, origin, decisions, notShown };
  }

  /**
   * The alert's decisions that are still live, by the ids it recorded. A bulk import's references carry no
   * id: its decisions are listed under the watcher's stand-in alert instead.
   */
  private liveOf(alert: LapiAlert): Decision[] {
    const out: Decision[] = [];
    for (const ref of alert.decisions) {
      const d = ref.id > 0 ? this.decisions.get(ref.id) : undefined;
      if (d) out.push(d);
    }
    return out;
  }

  /** Live decisions of a watcher's origin that no stored alert refers to. */
  private orphansOf(origin: string, limit: number): Decision[] {
    const out: Decision[] = [];
    let afterId = 0;
    for (;;) {
      const page = this.decisions.list({ origin, afterId, limit: 1000 });
      const referenced = this.alerts.referenced(page.map((d) => d.id));
      for (const d of page) {
        if (referenced.has(d.id)) continue;
        out.push(d);
        if (out.length >= limit) return out;
      }
      if (page.length < 1000) return out;
      afterId = page[page.length - 1]!.id;
    }
  }
}

const ISO = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** The wire object of `GET /v1/alerts` (swagger Alert, keys in Go's order), from a view. */
export function alertJson(v: AlertView, now: number): Record<string, unknown> {
  const a = v.alert;
  const raw = JSON.parse(a.raw) as Record<string, unknown>;
  const standIn = a.origin !== null;
  const source = standIn
    ? { scope: 'origin', value: a.origin }
    : ((typeof raw.source === 'object' && raw.source !== null ? raw.source : {}) as Record<string, unknown>);
  const shown = v.decisions.length;
  return {
    capacity: typeof raw.capacity === 'number' ? raw.capacity : 0,
    created_at: ISO(a.createdAt),
    decisions: v.decisions.map((d) => ({
      duration: formatGoDuration(remainingMs(d, now)),
      id: d.id,
      origin: d.origin,
      scenario: wireScenario(d),
      scope: wireScope(d),
      simulated: false,
      type: d.type,
      value: d.value,
    })),
    events: Array.isArray(raw.events) && raw.events.length > 0 ? raw.events : null,
    events_count: typeof raw.events_count === 'number' ? raw.events_count : standIn ? shown + v.notShown : 0,
    id: a.id,
    labels: raw.labels ?? null,
    leakspeed: str(raw.leakspeed),
    machine_id: a.machineId,
    message: standIn
      ? `${shown + v.notShown} decision(s) of origin ${a.origin} that no alert accounts for` +
        (v.notShown > 0 ? ` (${shown} shown; \`gatehouse decisions list --origin ${a.origin}\` lists all)` : '')
      : str(raw.message),
    scenario: a.scenario,
    scenario_hash: str(raw.scenario_hash),
    scenario_version: str(raw.scenario_version),
    simulated: raw.simulated === true,
    source: Object.fromEntries(Object.entries(source).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))),
    start_at: standIn ? ISO(a.createdAt) : str(raw.start_at),
    stop_at: standIn ? ISO(a.createdAt) : str(raw.stop_at),
  };
}
