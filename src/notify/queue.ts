import type { StoreHandle } from '../modules/index.js';
import type { Migrations } from '../store/index.js';
import type { Message } from './types.js';

/*
 * The delivery queue, in the store: a message is written here per channel before any attempt, so a
 * restart or a mail server down for hours loses nothing. Delivered rows are kept a while for status.
 */

export const notifyMigrations: Migrations = {
  module: 'notify',
  steps: [
    `CREATE TABLE notify_queue (
       id INTEGER PRIMARY KEY,
       channel TEXT NOT NULL,
       kind TEXT NOT NULL,
       subject TEXT NOT NULL,
       message TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       next_at INTEGER NOT NULL,
       attempts INTEGER NOT NULL DEFAULT 0,
       last_error TEXT,
       sent_at INTEGER,
       given_up_at INTEGER
     );
     CREATE INDEX notify_queue_due ON notify_queue(next_at) WHERE sent_at IS NULL AND given_up_at IS NULL;
     CREATE TABLE notify_seen (
       client TEXT NOT NULL,
       remote TEXT NOT NULL,
       first_seen INTEGER NOT NULL,
       PRIMARY KEY (client, remote)
     ) WITHOUT ROWID;
     CREATE TABLE notify_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  ],
};

export interface QueuedMessage {
  readonly id: number;
  readonly channel: string;
  readonly kind: string;
  readonly subject: string;
  readonly createdAt: number;
  readonly nextAt: number;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly sentAt: number | null;
  readonly givenUpAt: number | null;
}

interface Row {
  id: number;
  channel: string;
  kind: string;
  subject: string;
  message: string;
  created_at: number;
  next_at: number;
  attempts: number;
  last_error: string | null;
  sent_at: number | null;
  given_up_at: number | null;
}

const toQueued = (r: Row): QueuedMessage => ({
  id: r.id,
  channel: r.channel,
  kind: r.kind,
  subject: r.subject,
  createdAt: r.created_at,
  nextAt: r.next_at,
  attempts: r.attempts,
  lastError: r.last_error,
  sentAt: r.sent_at,
  givenUpAt: r.given_up_at,
});

/** Wait before attempt n+1 after n failures: 5 s doubling, capped. */
export function backoffMs(failures: number, maxMs: number): number {
  return Math.min(maxMs, 5_000 * 2 ** Math.min(20, Math.max(0, failures - 1)));
}

export class NotifyQueue {
  constructor(private readonly db: StoreHandle) {}

  enqueue(channel: string, m: Message, now: number): number {
    return Number(
      this.db
        .prepare('INSERT INTO notify_queue (channel, kind, subject, message, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(channel, m.kind, m.subject, JSON.stringify(m), now, now).lastInsertRowid,
    );
  }

  /** Messages due now, oldest first. */
  due(now: number, channel: string, limit = 50): { readonly row: QueuedMessage; readonly message: Message }[] {
    const rows = this.db
      .prepare('SELECT * FROM notify_queue WHERE sent_at IS NULL AND given_up_at IS NULL AND next_at <= ? AND channel = ? ORDER BY next_at, id LIMIT ?')
      .all(now, channel, limit) as Row[];
    return rows.map((r) => ({ row: toQueued(r), message: JSON.parse(r.message) as Message }));
  }

  /** When this channel's next undelivered message is due; undefined when none waits. */
  nextDue(channel: string): number | undefined {
    const r = this.db.prepare('SELECT min(next_at) AS t FROM notify_queue WHERE sent_at IS NULL AND given_up_at IS NULL AND channel = ?').get(channel) as { t: number | null };
    return r.t ?? undefined;
  }

  /** Undelivered messages for channels the config no longer has: given up, so status says so. */
  dropUnknown(channels: readonly string[], now: number): number {
    const ph = channels.map(() => '?').join(',');
    return this.db
      .prepare(`UPDATE notify_queue SET given_up_at = ?, last_error = 'no channel by this name in the config any more' WHERE sent_at IS NULL AND given_up_at IS NULL${channels.length ? ` AND channel NOT IN (${ph})` : ''}`)
      .run(now, ...channels).changes;
  }

  sent(id: number, now: number): void {
    this.db.prepare('UPDATE notify_queue SET sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?').run(now, id);
  }

  failed(id: number, error: string, now: number, nextAt: number | undefined): void {
    this.db
      .prepare('UPDATE notify_queue SET attempts = attempts + 1, last_error = ?, next_at = coalesce(?, next_at), given_up_at = CASE WHEN ? IS NULL THEN ? ELSE NULL END WHERE id = ?')
      .run(error.slice(0, 500), nextAt ?? null, nextAt ?? null, now, id);
  }

  list(opts: { readonly limit?: number } = {}): QueuedMessage[] {
    return (this.db.prepare('SELECT * FROM notify_queue ORDER BY id DESC LIMIT ?').all(opts.limit ?? 20) as Row[]).map(toQueued);
  }

  counts(since: number): { waiting: number; failing: number; givenUp: number; sentSince: number } {
    const r = this.db
      .prepare(
        `SELECT
           sum(sent_at IS NULL AND given_up_at IS NULL) AS waiting,
           sum(sent_at IS NULL AND given_up_at IS NULL AND attempts > 0) AS failing,
           sum(given_up_at IS NOT NULL) AS given_up,
           sum(sent_at >= ?) AS sent
         FROM notify_queue`,
      )
      .get(since) as { waiting: number | null; failing: number | null; given_up: number | null; sent: number | null };
    return { waiting: r.waiting ?? 0, failing: r.failing ?? 0, givenUp: r.given_up ?? 0, sentSince: r.sent ?? 0 };
  }

  /** Forgets delivered and given-up rows older than this. */
  purge(olderThan: number): number {
    return this.db.prepare('DELETE FROM notify_queue WHERE coalesce(sent_at, given_up_at) < ?').run(olderThan).changes;
  }

  /** Forgets client/remote pairs first seen before this: a pair hit again after that is news again. */
  purgeSeen(olderThan: number): number {
    return this.db.prepare('DELETE FROM notify_seen WHERE first_seen < ?').run(olderThan).changes;
  }

  /**
   * For each (client, remote) pair: true the first time it is ever seen. One transaction per collector run: a
   * thousand single commits would hold the daemon's thread.
   */
  firstHits(pairs: readonly { readonly client: string; readonly remote: string; readonly at: number }[]): boolean[] {
    const put = this.db.prepare('INSERT OR IGNORE INTO notify_seen (client, remote, first_seen) VALUES (?, ?, ?)');
    return this.db.transaction(() => pairs.map((p) => put.run(p.client, p.remote, p.at).changes > 0))();
  }

  state(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM notify_state WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setState(key: string, value: string | undefined): void {
    if (value === undefined) this.db.prepare('DELETE FROM notify_state WHERE key = ?').run(key);
    else this.db.prepare('INSERT INTO notify_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }
}
