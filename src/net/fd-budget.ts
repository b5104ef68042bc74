import { readFileSync } from 'node:fs';
import type { ListenerKey, ListenerLimits } from './listeners.js';

/**
 * Descriptors kept free of connections: nft runs (a transaction and a hit-set listing at a time, each
 * with three pipes and a batch file), SQLite (database, WAL and shared memory, for the daemon and for the
 * checkpoint worker), one download per feed, the log, the leases file and `ip` for client names.
 * Those need a few dozen; the rest is margin.
 */
export const FD_RESERVE = 256;

/** The smallest cap a listener is given, however low the limit: below it, it would hardly serve anyone. */
const MIN_CAP = 8;

/** The soft open-file limit from /proc/self/limits text; undefined if unlimited or unreadable. */
export function parseOpenFileLimit(limitsText: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s+/m.exec(limitsText);
  if (!m || m[1] === 'unlimited') return undefined;
  return Number(m[1]);
}

export function openFileLimit(): number | undefined {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

export interface FdBudget {
  readonly limits: Partial<Record<ListenerKey, ListenerLimits>>;
  /** The soft limit read, if any. */
  readonly openFileLimit: number | undefined;
  /** Sum of the listeners' caps after sizing. */
  readonly connections: number;
  /** Set when the caps had to be lowered to fit: what to log. */
  readonly warning?: string;
}

/**
 * Sizes the connection caps of the listeners in use so that all of them together, plus FD_RESERVE, stay
 * within the open-file limit: when they would not, every cap shrinks by the same factor (and the
 * per-client caps with them), and the warning says what to raise.
 */
export function budgetLimits(wanted: Partial<Record<ListenerKey, ListenerLimits>>, limit: number | undefined, reserve = FD_RESERVE): FdBudget {
  const entries = Object.entries(wanted) as [ListenerKey, ListenerLimits][];
  const total = entries.reduce((a, [, l]) => a + l.maxConnections, 0);
  if (limit === undefined || total + reserve <= limit) return { limits: wanted, openFileLimit: limit, connections: total };
  const room = Math.max(0, limit - reserve);
  const factor = room / total;
  const limits: Partial<Record<ListenerKey, ListenerLimits>> = {};
  for (const [k, l] of entries) {
    const maxConnections = Math.max(MIN_CAP, Math.floor(l.maxConnections * factor));
    limits[k] = { ...l, maxConnections, maxPerClient: l.maxPerClient === 0 ? 0 : Math.min(l.maxPerClient, Math.max(1, Math.floor(maxConnections / 4))) };
  }
  const connections = Object.values(limits).reduce((a, l) => a + l.maxConnections, 0);
  const caps = entries.map(([k]) => `${k} ${limits[k]!.maxConnections}`).join(', ');
  const warning =
    `open-file limit ${limit} is low for ${total} connections plus ${reserve} descriptors kept for nft, SQLite and feeds: ` +
    `connection caps lowered to ${caps}` +
    (connections + reserve > limit ? ' (still more than fits: raise the limit)' : '') +
    `; raise it (systemd LimitNOFILE=, ulimit -n) to at least ${total + reserve} for the full caps`;
  return { limits, openFileLimit: limit, connections, warning };
}
