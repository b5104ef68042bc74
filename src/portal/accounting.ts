import { counterDelta } from './limits.js';
import type { AddressUsage, PortalDevice } from './types.js';

/*
 * Turning the kernel's cumulative per-address counters into bytes per session and per user, pure. A session
 * remembers the reading each address was last counted at; an address the kernel does not list (yet, or any
 * more) adds nothing and keeps its reading.
 */

export interface Counted {
  readonly user: string;
  readonly device: PortalDevice;
  bytesDown: number;
  bytesUp: number;
  lastActivity: number;
  counters: Record<string, readonly [number, number]>;
}

export interface Tally {
  /** Per user: bytes added by this reading. */
  readonly users: Map<string, { down: number; up: number }>;
  /** Sessions whose counts changed (to be written). */
  readonly changed: Set<Counted>;
}

export function applyReadings(sessions: Iterable<Counted>, readings: readonly AddressUsage[], now: number): Tally {
  const byIp = new Map(readings.map((r) => [r.ip, r]));
  const users = new Map<string, { down: number; up: number }>();
  const changed = new Set<Counted>();
  for (const s of sessions) {
    let down = 0;
    let up = 0;
    for (const ip of [...s.device.ipv4, ...s.device.ipv6]) {
      const r = byIp.get(ip);
      if (!r) continue;
      const before = s.counters[ip];
      down += counterDelta(before?.[0], r.down);
      up += counterDelta(before?.[1], r.up);
      if (!before || before[0] !== r.down || before[1] !== r.up) {
        s.counters = { ...s.counters, [ip]: [r.down, r.up] };
        changed.add(s);
      }
    }
    if (down === 0 && up === 0) continue;
    s.bytesDown += down;
    s.bytesUp += up;
    s.lastActivity = now;
    const u = users.get(s.user) ?? { down: 0, up: 0 };
    u.down += down;
    u.up += up;
    users.set(s.user, u);
  }
  return { users, changed };
}
