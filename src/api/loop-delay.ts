import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { EventLoopStatus } from './contract.js';

/**
 * How late the daemon's event loop ran: every API, the LAPI, the kernel writer and (next) DNS and the
 * portal share this one thread, so a long synchronous step anywhere is a stall for all of them.
 * `GET /v1/status` reports it; `?reset_event_loop=true` starts a new window after reading (benchmarks
 * measure one load phase that way).
 */

export interface LoopDelayMonitor {
  /** The window so far; with `reset`, a new window starts right after. */
  read(reset?: boolean): EventLoopStatus;
  stop(): void;
}

/**
 * 20 ms: one timer wake-up per 20 ms costs nothing measurable, and a stall is recorded in full however
 * coarse the sampling (the late timer sees the whole stall), so only the short delays lose precision.
 */
export const LOOP_DELAY_RESOLUTION_MS = 20;

export function startLoopDelayMonitor(resolutionMs = LOOP_DELAY_RESOLUTION_MS): LoopDelayMonitor {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  let since = Date.now();
  // The histogram holds the time between two timer runs, i.e. resolution + lateness.
  const late = (ns: number): number => Math.round(Math.max(0, ns / 1e6 - resolutionMs) * 10) / 10;
  return {
    read(reset = false) {
      const empty = h.count === 0;
      const out: EventLoopStatus = {
        p50Ms: empty ? 0 : late(h.percentile(50)),
        p99Ms: empty ? 0 : late(h.percentile(99)),
        maxMs: empty ? 0 : late(h.max),
        samples: h.count,
        since,
      };
      if (reset) {
        h.reset();
        since = Date.now();
      }
      return out;
    },
    stop() {
      h.disable();
    },
  };
}
