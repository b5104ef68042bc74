import { formatDuration as formatGoDuration } from '../../config/duration.js';
import type { DecisionService } from '../../decisions/service.js';
import type { Decision } from '../../decisions/types.js';
import { covers, tryParseTarget } from '../../net/ip.js';
import type { LapiAlert, LapiAlerts } from '../../store/lapi-alerts.js';
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

  /**
   * Makes sure every origin with decisions that no alert accounts for has its stand-in alert. Scans the
   * decisions in id ranges (reads.ts), so a listing over a million feed entries does not stall bouncers.
   */
  async ensureStandIns(includeCapi: boolean): Promise<void> {
    for (const origin of await this.reads.activeOrigins()) {
      if (!includeCapi && !isLocalOrigin(origin)) continue;
      const { ids } = await this.standInIds(origin, 1);
      const oldest = ids[0] === undefined ? undefined : this.decisions.get(ids[0]);
      if (oldest) this.alerts.originAlert(origin, oldest.createdAt);
    }
  }

  /** The alert as cscli should see it, or undefined when the filter leaves nothing of it. */
  async view(alert: LapiAlert, f: AlertFilter = {}): Promise<AlertView | undefined> {
    const origin = alert.origin ?? watcherOrigin(alert.machineId);
    if (f.includeCapi === false && !isLocalOrigin(origin)) return undefined;
    let decisions: Decision[];
    let notShown = 0;
    if (alert.origin !== null) {
      const { ids, total } = await this.standInIds(alert.origin, STAND_IN_DECISIONS);
      decisions = [];
      // A thousand look-ups per turn of the event loop: a stand-in may show ten thousand decisions.
      for (let i = 0; i < ids.length; i += 1000) {
        if (i > 0) await new Promise((r) => setImmediate(r));
        decisions.push(...this.live(ids.slice(i, i + 1000)));
      }
      notShown = Math.max(0, total - ids.length);
      // A stand-in exists for its decisions only: without any it is not shown.
      if (decisions.length === 0) return undefined;
    } else {
      // A bulk import's references carry no id: its decisions are listed under the watcher's stand-in.
      decisions = this.live(alert.decisions.map((r) => r.id).filter((id) => id > 0));
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

  /** The decisions of these ids that are still live (deleted or expired ones are gone from the alert). */
  private live(ids: readonly number[]): Decision[] {
    const out: Decision[] = [];
    for (const id of ids) {
      const d = this.decisions.get(id);
      if (d) out.push(d);
    }
    return out;
  }

  /**
   * Live decisions of an origin's stand-in: all of them, or for a watcher's origin those no stored alert
   * refers to (an import's, or those whose alert was purged).
   */
  private async standInIds(origin: string, limit: number): Promise<{ ids: number[]; total: number }> {
    if (!origin.startsWith('lapi:')) return this.reads.liveIdsOf(origin, limit);
    const { ids: all } = await this.reads.liveIdsOf(origin, Infinity);
    const ids: number[] = [];
    let total = 0;
    for (let i = 0; i < all.length; i += 1000) {
      const page = all.slice(i, i + 1000);
      const referenced = this.alerts.referenced(page);
      for (const id of page) {
        if (referenced.has(id)) continue;
        total++;
        if (ids.length < limit) ids.push(id);
      }
    }
    return { ids, total };
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
