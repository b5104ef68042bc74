/*
 * Login attempts per key (a client address, a user name): after `failures` wrong attempts within `windowMs`
 * the key must wait `lockoutMs`, counted from the failure that tipped it. A success clears the key. Pure: the
 * caller passes the time, so tests need no clock.
 */

export interface RateLimitOptions {
  readonly failures: number;
  readonly windowMs: number;
  readonly lockoutMs: number;
  /** Keys remembered at most (an attacker cycling addresses must not grow memory without bound). */
  readonly maxKeys?: number;
}

interface Entry {
  failures: number[];
  lockedUntil: number;
}

export class LoginRateLimit {
  private readonly keys = new Map<string, Entry>();
  private readonly maxKeys: number;

  constructor(private readonly o: RateLimitOptions) {
    this.maxKeys = o.maxKeys ?? 10_000;
  }

  /** Seconds the key must still wait (0: it may try). */
  waitSec(key: string, now: number): number {
    const e = this.keys.get(key);
    if (!e || e.lockedUntil <= now) return 0;
    return Math.ceil((e.lockedUntil - now) / 1000);
  }

  /** Records a wrong attempt; returns the seconds to wait when this one locked the key, else 0. */
  fail(key: string, now: number): number {
    let e = this.keys.get(key);
    if (!e) {
      if (this.keys.size >= this.maxKeys) this.evict(now);
      e = { failures: [], lockedUntil: 0 };
      this.keys.set(key, e);
    }
    e.failures = e.failures.filter((t) => now - t < this.o.windowMs);
    e.failures.push(now);
    if (e.failures.length >= this.o.failures) {
      e.lockedUntil = now + this.o.lockoutMs;
      e.failures = [];
      return Math.ceil(this.o.lockoutMs / 1000);
    }
    return 0;
  }

  succeed(key: string): void {
    this.keys.delete(key);
  }

  private evict(now: number): void {
    for (const [k, e] of this.keys) {
      if (e.lockedUntil <= now && e.failures.every((t) => now - t >= this.o.windowMs)) this.keys.delete(k);
    }
    // Still full: drop the oldest entries (Map keeps insertion order).
    for (const k of this.keys.keys()) {
      if (this.keys.size < this.maxKeys) break;
      this.keys.delete(k);
    }
  }
}
