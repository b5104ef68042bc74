import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface ClientNames {
  /** MAC (lower case) → name, from the config. */
  readonly names: ReadonlyMap<string, string>;
  /** dnsmasq leases file: "<expiry> <mac> <ip> <hostname> <client-id>" per line. */
  readonly dhcpLeases?: string;
}

interface NeighEntry {
  dst?: unknown;
  lladdr?: unknown;
}

function neighbours(): Promise<Map<string, string>> {
  return new Promise((resolve) => {
    execFile('ip', ['-j', 'neigh', 'show'], { timeout: 2000 }, (err, stdout) => {
      const m = new Map<string, string>();
      if (err) return resolve(m);
      try {
        for (const e of JSON.parse(stdout) as NeighEntry[]) {
          if (typeof e.dst === 'string' && typeof e.lladdr === 'string') m.set(e.dst, e.lladdr.toLowerCase());
        }
      } catch {
        // An unreadable neighbour table only costs the report its MAC column.
      }
      resolve(m);
    });
  });
}

export function parseDnsmasqLeases(text: string): Map<string, { mac: string; name: string | null }> {
  const m = new Map<string, { mac: string; name: string | null }>();
  for (const line of text.split('\n')) {
    const [, mac, ip, host] = line.trim().split(/\s+/);
    if (!mac || !ip || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) continue;
    m.set(ip, { mac: mac.toLowerCase(), name: host && host !== '*' ? host : null });
  }
  return m;
}

/**
 * Resolves a LAN address to its device for block reports. The neighbour table is read at most every few
 * seconds: a report is about who it was at the time, and ARP entries outlive the few seconds between polls.
 */
export class ClientDirectory {
  private neigh = new Map<string, string>();
  private leases = new Map<string, { mac: string; name: string | null }>();
  private readAt = 0;

  constructor(private readonly cfg: ClientNames, private readonly clock: () => number = Date.now) {}

  async lookup(ip: string): Promise<{ mac: string | null; name: string | null }> {
    if (this.clock() - this.readAt > 5000) await this.refresh();
    const lease = this.leases.get(ip);
    const mac = this.neigh.get(ip) ?? lease?.mac ?? null;
    const name = (mac ? this.cfg.names.get(mac) : undefined) ?? lease?.name ?? null;
    return { mac, name };
  }

  private async refresh(): Promise<void> {
    this.readAt = this.clock();
    this.neigh = await neighbours();
    if (this.cfg.dhcpLeases) {
      try {
        this.leases = parseDnsmasqLeases(await readFile(this.cfg.dhcpLeases, 'utf8'));
      } catch {
        this.leases = new Map();
      }
    }
  }
}
