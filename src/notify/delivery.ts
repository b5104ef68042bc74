import type { Clock } from '../scheduler/index.js';
import { backoffMs, type NotifyQueue } from './queue.js';
import type { Channel } from './types.js';

export interface DeliveryLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * One pass over one channel's due messages, in order: a failure is recorded and retried later with a
 * doubling wait, until `giveUpAfterMs` since it was queued; the rest wait for the next pass (they would most
 * likely fail the same way). Each channel has its own pass, so a slow mail server delays only mail.
 */
export async function deliverDue(
  queue: NotifyQueue,
  ch: Channel,
  clock: Clock,
  opts: { readonly maxIntervalMs: number; readonly giveUpAfterMs: number; readonly log: DeliveryLog; readonly onSent?: (channel: string, kind: string, ms: number) => void },
): Promise<void> {
  const name = ch.name;
  for (const { row, message } of queue.due(clock.now(), name)) {
    try {
      await ch.send(message);
      const at = clock.now();
      queue.sent(row.id, at);
      opts.onSent?.(name, message.kind, at - row.createdAt);
      if (row.attempts > 0) opts.log.info({ channel: name, id: row.id, attempts: row.attempts + 1 }, `notify: ${name} delivered message ${row.id} after ${row.attempts} failed attempt(s)`);
    } catch (e) {
      const at = clock.now();
      const err = (e as Error).message;
      const giveUp = at - row.createdAt >= opts.giveUpAfterMs;
      const next = giveUp ? undefined : at + backoffMs(row.attempts + 1, opts.maxIntervalMs);
      queue.failed(row.id, err, at, next);
      opts.log.warn({ channel: name, id: row.id, attempts: row.attempts + 1, err, retry_at: next ?? null }, giveUp ? `notify: ${name}: gave up on message ${row.id}` : `notify: ${name} failed, will retry`);
      return;
    }
  }
}
