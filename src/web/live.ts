import type { ServerResponse } from 'node:http';
import type { EventSource as BusSource, QueuedSubscription } from '../events/index.js';
import type { BlockHit } from '../store/index.js';
import { liveRow } from './pages/blocks.js';

/**
 * Rows sent per collector run at most: the page keeps the 200 newest rows, so more would be pushed out
 * as soon as they arrived; the rest are counted in a `missed` event (they are in the paged report).
 */
export const LIVE_ROWS_PER_EVENT = 200;

/** One server-sent event; each line of data on its own `data:` line, as the format wants. */
export function sseFrame(event: string, data: string): string {
  return `event: ${event}\n${data.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`;
}

/**
 * A browser's live stream of new blocks: a best-effort bus subscription (a slow browser drops its oldest
 * events and is told how many, never slowing the collector or the enforcer), written as server-sent events.
 * `alive` is asked at every heartbeat: a logout or an expired session ends the stream.
 */
export function startLiveStream(
  res: ServerResponse,
  bus: BusSource,
  o: { direction?: 'inbound' | 'outbound'; alive: () => boolean; heartbeatMs?: number },
): () => void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(': gatehouse live blocks\nretry: 3000\n\n');
  let closed = false;
  const write = async (chunk: string) => {
    if (closed) return;
    if (!res.write(chunk)) await new Promise<void>((r) => res.once('drain', () => r()).once('close', () => r()));
  };
  const sub: QueuedSubscription = bus.subscribeQueued(
    ['firewall.blocked'],
    async (ev, missed) => {
      let skipped = missed;
      const hits = (ev.payload as readonly BlockHit[]).filter((h) => !o.direction || h.direction === o.direction);
      if (hits.length > LIVE_ROWS_PER_EVENT) skipped += hits.length - LIVE_ROWS_PER_EVENT;
      const rows = hits.slice(-LIVE_ROWS_PER_EVENT).map((h) => liveRow(h).text.replace(/\n/g, ' '));
      if (skipped > 0) await write(sseFrame('missed', String(skipped)));
      if (rows.length > 0) await write(sseFrame('block', rows.join('')));
    },
    { name: 'web live', capacity: 256 },
  );
  const beat = setInterval(() => {
    if (!o.alive()) return stop();
    void write(': beat\n\n');
  }, o.heartbeatMs ?? 25_000);
  const stop = () => {
    if (closed) return;
    closed = true;
    clearInterval(beat);
    sub.close();
    res.end();
  };
  res.once('close', stop);
  return stop;
}
