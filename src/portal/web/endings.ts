import type { LimitKind } from '../types.js';
import type { SessionEnding } from './types.js';

const LIMITS: ReadonlySet<string> = new Set<LimitKind>(['session_time', 'idle', 'session_download', 'session_upload', 'daily', 'weekly', 'max_devices']);

/**
 * Why each address's last session ended, when a limit ended it: the login page says so to the device that
 * lands there again. Bounded (oldest forgotten first) and short-lived: after an hour it is old news.
 */
export class Endings {
  private readonly byIp = new Map<string, { limit: LimitKind; at: number }>();

  constructor(
    private readonly now: () => number,
    private readonly max = 4096,
    private readonly ttlMs = 3600_000,
  ) {}

  record(e: SessionEnding): void {
    for (const ip of e.ips) {
      this.byIp.delete(ip);
      if (LIMITS.has(e.reason)) this.byIp.set(ip, { limit: e.reason as LimitKind, at: e.at });
    }
    while (this.byIp.size > this.max) this.byIp.delete(this.byIp.keys().next().value!);
  }

  /** The limit that ended this address's last session, if that was recent. */
  limitFor(ip: string): LimitKind | undefined {
    const e = this.byIp.get(ip);
    if (!e) return undefined;
    if (this.now() - e.at > this.ttlMs) {
      this.byIp.delete(ip);
      return undefined;
    }
    return e.limit;
  }

  forget(ip: string): void {
    this.byIp.delete(ip);
  }
}
