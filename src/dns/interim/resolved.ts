/* INTERIM stand-in for H4's ResolvedNames: which name a client resolved to reach an address (bounded). */

const GRACE_MS = 300_000;
const MAX = 100_000;

export class ResolvedNames {
  private readonly map = new Map<string, { name: string; until: number }>();

  note(client: string, name: string, ips: readonly string[], ttlSec: number, now: number): void {
    for (const ip of ips) {
      const k = `${client}|${ip}`;
      this.map.delete(k);
      this.map.set(k, { name, until: now + ttlSec * 1000 + GRACE_MS });
    }
    while (this.map.size > MAX) this.map.delete(this.map.keys().next().value as string);
  }

  lookup(client: string, remote: string, now: number): string | undefined {
    const e = this.map.get(`${client}|${remote}`);
    return e && e.until > now ? e.name : undefined;
  }
}
