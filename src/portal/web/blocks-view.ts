import type { BlockEvent } from '../../store/index.js';
import type { SessionView } from '../types.js';
import type { BlockReader } from './types.js';

/** One line of "recently blocked" on the status page. */
export interface OwnBlock {
  readonly device: string;
  readonly remote: string;
  readonly domain: string | null;
  readonly port: number;
  readonly protocol: string;
  readonly lists: readonly { readonly origin: string; readonly reason: string }[];
  readonly count: number;
  readonly lastSeen: number;
}

export const BLOCKS_WINDOW_MS = 7 * 24 * 3600_000;
const MAX_ROWS = 20;

/**
 * The blocks of these devices only. A row matched by MAC is the device's. A row matched by address alone
 * is shown only when it holds no other MAC and began during this session: the address may have belonged
 * to another resident before (DHCP hands addresses out again), and their blocks are none of this one's
 * business.
 */
export function ownBlocks(reader: BlockReader, devices: readonly { session: SessionView; name: string }[], now: number): OwnBlock[] {
  const since = now - BLOCKS_WINDOW_MS;
  const rows = new Map<number, { e: BlockEvent; name: string }>();
  for (const { session, name } of devices) {
    const mac = session.device.mac.toLowerCase();
    for (const e of reader.list({ client: mac, since, direction: 'outbound', limit: MAX_ROWS })) {
      if (e.clientMac?.toLowerCase() === mac) rows.set(e.id, { e, name });
    }
    for (const ip of [...session.device.ipv4, ...session.device.ipv6]) {
      for (const e of reader.list({ client: ip, since, direction: 'outbound', limit: MAX_ROWS })) {
        if (e.clientIp !== ip) continue;
        const theirs = e.clientMac !== null ? e.clientMac.toLowerCase() === mac : e.firstSeen >= session.startedAt;
        if (theirs) rows.set(e.id, { e, name });
      }
    }
  }
  return [...rows.values()]
    .sort((a, b) => b.e.lastSeen - a.e.lastSeen)
    .slice(0, MAX_ROWS)
    .map(({ e, name }) => ({
      device: name,
      remote: e.remoteIp,
      domain: e.domain,
      port: e.port,
      protocol: e.protocol,
      lists: e.decisions.map((d) => ({ origin: d.origin, reason: d.reason })),
      count: e.count,
      lastSeen: e.lastSeen,
    }));
}
