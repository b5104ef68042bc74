/**
 * Failed logins per client address (IPv4, or IPv6 by /64: see net/listeners clientKey): after `max`
 * failures within `windowMs` that address is refused until the window has passed since its first one.
 * A success clears the address. Kept in memory: a daemon restart forgives, which a guesser cannot cause.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, { first: number; count: number }>();

  constructor(
    readonly max = 5,
    readonly windowMs = 5 * 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Seconds until this address may try again; 0 when it may now. */
  retryAfter(key: string): number {
    const f = this.failures.get(key);
    if (!f) return 0;
    const left = f.first + this.windowMs - this.clock();
    if (left <= 0) {
      this.failures.delete(key);
      return 0;
    }
    return f.count >= this.max ? Math.ceil(left / 1000) : 0;
  }

  failed(key: string): void {
    const now = this.clock();
    const f = this.failures.get(key);
    if (!f || f.first + this.windowMs <= now) this.failures.set(key, { first: now, count: 1 });
    else f.count++;
    // Bounded: a scan from many addresses must not grow the map without end.
    if (this.failures.size > 10_000) {
      for (const [k, v] of this.failures) if (v.first + this.windowMs <= now) this.failures.delete(k);
      if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
    }
  }

  succeeded(key: string): void {
    this.failures.delete(key);
  }
}
