import type { Clock } from '../scheduler/index.js';
import type { RuleConfig } from './config.js';
import { renderGroup } from './render.js';
import { afterQuiet, parseQuietHours, type QuietHours } from './time-of-day.js';
import { severityRank, type Message, type Notice } from './types.js';

/** Notices kept per message; beyond this only the count grows (a flood must not grow memory). */
export const MAX_ITEMS = 50;

interface Rule {
  readonly index: number;
  readonly config: RuleConfig;
  readonly quiet: QuietHours | undefined;
}

interface Pending {
  readonly rule: Rule;
  readonly key: string;
  readonly notices: Notice[];
  more: number;
  dueAt: number;
  cancel: () => void;
}

/**
 * When a group may go out: no earlier than its window after the first notice, nor than the cooldown after
 * the last message for the same rule and key; outside quiet hours unless something in it is critical.
 */
export function dueTime(firstAt: number, lastSentAt: number | undefined, rule: Pick<RuleConfig, 'group' | 'cooldown'>, quiet: QuietHours | undefined, critical: boolean): number {
  const t = Math.max(firstAt + rule.group, lastSentAt === undefined ? 0 : lastSentAt + rule.cooldown);
  return critical ? t : afterQuiet(t, quiet);
}

/**
 * Turns notices into messages per rule: grouping, cooldown, quiet hours and minimum severity. Nothing a
 * rule accepts is dropped: what comes during a cooldown or quiet hours waits and goes out with the next one.
 * Pending groups live in memory (minutes at most); what leaves here is queued in the store.
 */
export class Grouper {
  private readonly rules: Rule[];
  private readonly pending = new Map<string, Pending>();
  private readonly lastSent = new Map<string, number>();

  constructor(
    rules: readonly RuleConfig[],
    private readonly clock: Clock,
    private readonly emit: (m: Message, channels: readonly string[] | undefined) => void,
  ) {
    this.rules = rules.map((config, index) => ({ index, config, quiet: config.quiet_hours ? parseQuietHours(config.quiet_hours) : undefined }));
  }

  offer(n: Notice): void {
    for (const rule of this.rules) {
      if (rule.config.kind !== n.kind || severityRank(n.severity) < severityRank(rule.config.min_severity)) continue;
      const id = `${rule.index}\u0000${n.key}`;
      const p = this.pending.get(id);
      if (p) {
        if (p.notices.length < MAX_ITEMS) p.notices.push(n);
        else p.more++;
        // A critical notice must not wait out quiet hours behind the ones before it.
        if (n.severity === 'critical') this.arm(id, p, dueTime(p.notices[0]!.at, this.lastSent.get(id), rule.config, rule.quiet, true));
        continue;
      }
      const fresh: Pending = { rule, key: n.key, notices: [n], more: 0, dueAt: 0, cancel: () => {} };
      this.pending.set(id, fresh);
      this.arm(id, fresh, dueTime(this.clock.now(), this.lastSent.get(id), rule.config, rule.quiet, n.severity === 'critical'));
    }
  }

  /** Groups waiting, for status. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Sends every waiting group now (daemon stop: better early than lost). */
  flushAll(): void {
    for (const id of [...this.pending.keys()]) this.flush(id);
  }

  stop(): void {
    for (const p of this.pending.values()) p.cancel();
    this.pending.clear();
  }

  private arm(id: string, p: Pending, at: number): void {
    p.cancel();
    p.dueAt = at;
    p.cancel = this.clock.setTimer(() => this.flush(id), Math.max(0, at - this.clock.now()));
  }

  private flush(id: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    p.cancel();
    this.pending.delete(id);
    const now = this.clock.now();
    this.lastSent.set(id, now);
    // Forget keys whose cooldown is long over, so a stream of one-off clients does not grow the map.
    if (this.lastSent.size > 10_000) {
      for (const [k, t] of this.lastSent) if (now - t > 86_400_000) this.lastSent.delete(k);
    }
    this.emit(renderGroup(p.rule.config.kind, p.key, p.notices, p.more, now), p.rule.config.channels);
  }
}
