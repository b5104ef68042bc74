import type { Clock } from '../scheduler/index.js';
import { backoffMs, type NotifyQueue } from './queue.js';
import type { Channel } from './types.js';

export interface DeliveryLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface DeliveryStats {
  sent: number;
  failures: number;
  /** Queue entry to hand-off, ms, of the last delivery. */
  lastHandoffMs: number | undefined;
}

/**
 * One pass over the due messages: each goes to its channel; a failure is recorded and retried later with
 * a doubling wait, until `giveUpAfterMs` since it was queued. Channels are tried one message at a time, in
 * order, so a slow mail server delays only mail.
 */
export async function deliverDue(
  queue: NotifyQueue,
  channels: ReadonlyMap<string, Channel>,
  clock: Clock,
  opts: { readonly maxIntervalMs: number; readonly giveUpAfterMs: number; readonly log: DeliveryLog; readonly stats: DeliveryStats; readonly onSent?: (channel: string, kind: string, ms: number) => void },
): Promise<void> {
  const due = queue.due(clock.now());
  const byChannel = new Map<string, typeof due>();
  for (const d of due) byChannel.set(d.row.channel, [...(byChannel.get(d.row.channel) ?? []), d]);
  await Promise.all(
    [...byChannel].map(async ([name, items]) => {
      const ch = channels.get(name);
      for (const { row, message } of items) {
        const now = clock.now();
        if (!ch) {
          queue.failed(row.id, `no channel named ${name} in the config any more`, now, undefined);
          continue;
        }
        try {
          await ch.send(message);
          const at = clock.now();
          queue.sent(row.id, at);
          opts.stats.sent++;
          opts.stats.lastHandoffMs = at - row.createdAt;
          opts.onSent?.(name, message.kind, at - row.createdAt);
          if (row.attempts > 0) opts.log.info({ channel: name, id: row.id, attempts: row.attempts + 1 }, `notify: ${name} delivered message ${row.id} after ${row.attempts} failed attempt(s)`);
        } catch (e) {
          const at = clock.now();
          const err = (e as Error).message;
          opts.stats.failures++;
          const giveUp = at - row.createdAt >= opts.giveUpAfterMs;
          const next = giveUp ? undefined : at + backoffMs(row.attempts + 1, opts.maxIntervalMs);
          queue.failed(row.id, err, at, next);
          opts.log.warn({ channel: name, id: row.id, attempts: row.attempts + 1, err, retry_at: next ?? null }, giveUp ? `notify: ${name}: gave up on message ${row.id}` : `notify: ${name} failed, will retry`);
          // The rest for this channel would most likely fail the same way: they wait for the next pass.
          return;
        }
      }
    }),
  );
}
