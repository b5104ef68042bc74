import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { tryParseTarget } from '../net/ip.js';
import type { ClientIdentity, Clients, ClientsOptions, LanDevice } from './types.js';
import { macFromEui64, parseDnsmasqLeases, parseNeighbours, type Binding } from './parse.js';

/** The neighbour table is re-read at most this often when lookups find what they ask for. */
const REFRESH_MS = 5000;
/**
 * A lookup that misses, without saying when the address was seen, re-reads a table older than this. The
 * bound matters: the collector asks about the gateway's own WAN address and other never-known addresses on
 * every poll, and those must not cost an `ip` run each.
 */
const MISS_REFRESH_MS = 1000;
/** An address that left the neighbour table (the kernel forgets idle entries in minutes) keeps its device this long. */
const FORGET_MS = 3600_000;
/** Addresses remembered at most: a LAN host spraying neighbour entries must not grow memory without end. */
const MAX_ADDRESSES = 16_384;

interface Device {
  readonly mac: string;
  /** Address → when last seen. */
  readonly addresses: Map<string, number>;
  /** The DHCP hostname of one of its leases. */
  leaseName: string | null;
  lastSeen: number;
}

function systemNeighbours(): Promise<string> {
  return new Promise((resolve) => {
    execFile('ip', ['-j', 'neigh', 'show'], { timeout: 2000 }, (err, stdout) => resolve(err ? '[]' : stdout));
  });
}

/** Canonical text of a host address, so "FD77:0::10" and "fd77::10" are one address; undefined for anything else. */
function hostText(ip: string): string | undefined {
  const t = tryParseTarget(ip);
  return t?.isHost ? t.text : undefined;
}

/**
 * The LAN's devices, keyed by MAC, built from the kernel's neighbour table and the DHCP leases. An address
 * belongs to the device whose MAC it last showed; an IPv6 address is named through its device, so it gets
 * the name of the IPv4 lease sharing its MAC. A lookup that misses re-reads the table (bounded), because an
 * address often shows up there only once the gateway has answered it, just before the block is collected.
 */
export class ClientDirectory implements Clients {
  private readonly devicesByMac = new Map<string, Device>();
  private readonly macOf = new Map<string, string>();
  private readAt = -Infinity;
  private reading: Promise<void> | undefined;
  private readonly clock: () => number;
  private readonly readNeighbours: () => Promise<string>;

  constructor(private readonly opts: ClientsOptions) {
    this.clock = opts.clock ?? Date.now;
    this.readNeighbours = opts.readNeighbours ?? systemNeighbours;
  }

  async whoIs(ip: string, seenAt?: number): Promise<ClientIdentity> {
    const d = await this.find(ip, seenAt);
    if (!d) return { mac: null, name: null };
    return { mac: d.mac, name: this.nameOf(d) };
  }

  async device(ip: string): Promise<LanDevice | undefined> {
    const d = await this.find(ip);
    return d ? this.view(d) : undefined;
  }

  async devices(): Promise<readonly LanDevice[]> {
    if (this.clock() - this.readAt >= REFRESH_MS) await this.refresh();
    return [...this.devicesByMac.values()].map((d) => this.view(d));
  }

  private async find(ip: string, seenAt?: number): Promise<Device | undefined> {
    const addr = hostText(ip);
    if (addr === undefined) return undefined;
    if (this.clock() - this.readAt >= REFRESH_MS) await this.refresh();
    // A miss re-reads a table older than the moment the address was seen; twice at most, since a read
    // already under way may have started before that moment.
    const fresh = seenAt ?? this.clock() - MISS_REFRESH_MS;
    let d = this.known(addr);
    for (let i = 0; !d && this.readAt < fresh && i < 2; i++) {
      await this.refresh();
      d = this.known(addr);
    }
    return d;
  }

  private known(addr: string): Device | undefined {
    const mac = this.macOf.get(addr);
    if (mac !== undefined) return this.devicesByMac.get(mac);
    // A SLAAC address built from the MAC (EUI-64) names its device even before it is in the table, but only
    // a device already known: a made-up address must not invent one.
    const eui = macFromEui64(addr);
    return eui !== undefined ? this.devicesByMac.get(eui) : undefined;
  }

  private nameOf(d: Device): string | null {
    return this.opts.names.get(d.mac) ?? d.leaseName;
  }

  private view(d: Device): LanDevice {
    const ipv4: string[] = [];
    const ipv6: string[] = [];
    for (const a of d.addresses.keys()) (a.includes(':') ? ipv6 : ipv4).push(a);
    return { mac: d.mac, name: this.nameOf(d), ipv4: ipv4.sort(), ipv6: ipv6.sort(), lastSeen: d.lastSeen };
  }

  /** One read at a time: lookups that arrive meanwhile wait for it instead of starting their own. */
  private refresh(): Promise<void> {
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<void> {
    // The table is as new as the moment it was asked for, not the moment the answer was parsed.
    const now = this.clock();
    const bindings: Binding[] = [];
    let names = new Map<string, string | null>();
    try {
      bindings.push(...parseNeighbours(await this.readNeighbours(), this.opts.interfaces));
    } catch {
      // An unreadable neighbour table only costs the report its MAC column; what was known stays known.
    }
    if (this.opts.dhcpLeases) {
      try {
        for (const [ip, l] of parseDnsmasqLeases(await readFile(this.opts.dhcpLeases, 'utf8'))) {
          bindings.push({ ip, mac: l.mac });
          if (l.name !== null || !names.has(l.mac)) names.set(l.mac, l.name);
        }
      } catch {
        names = new Map();
      }
    }
    this.readAt = now;
    for (const b of bindings) this.bind(b, now);
    for (const [mac, name] of names) {
      const d = this.devicesByMac.get(mac);
      if (d && name !== null) d.leaseName = name;
    }
    this.forget(now);
  }

  private bind(b: Binding, now: number): void {
    const addr = hostText(b.ip);
    if (addr === undefined) return;
    const was = this.macOf.get(addr);
    // The address moved to another device (a new lease, a replaced machine): it leaves the old one.
    if (was !== undefined && was !== b.mac) this.devicesByMac.get(was)?.addresses.delete(addr);
    let d = this.devicesByMac.get(b.mac);
    const newDevice = d === undefined;
    if (!d) {
      d = { mac: b.mac, addresses: new Map(), leaseName: null, lastSeen: now };
      this.devicesByMac.set(b.mac, d);
    }
    if (was !== b.mac) this.opts.onSeen?.({ mac: b.mac, address: addr, newDevice, at: now });
    // Re-inserted so the map's order is oldest-seen first, which is what eviction drops.
    this.macOf.delete(addr);
    this.macOf.set(addr, b.mac);
    d.addresses.set(addr, now);
    d.lastSeen = now;
  }

  private forget(now: number): void {
    for (const [addr, mac] of this.macOf) {
      const d = this.devicesByMac.get(mac);
      const seen = d?.addresses.get(addr) ?? -Infinity;
      if (this.macOf.size <= MAX_ADDRESSES && now - seen < FORGET_MS) break;
      this.macOf.delete(addr);
      d?.addresses.delete(addr);
      if (d && d.addresses.size === 0) this.devicesByMac.delete(mac);
    }
  }
}

/** The clients module's service: nothing to start or stop (it reads the kernel's neighbour table on demand). */
export function openClients(opts: ClientsOptions): Clients {
  return new ClientDirectory(opts);
}
