import { execFile } from 'node:child_process';
import type { Logger } from 'pino';
import { budgetLimits, openFileLimit } from '../net/fd-budget.js';
import { LISTENER_LIMITS, probeListen, probeSocket, type ListenerKey, type ListenerLimits } from '../net/listeners.js';
import { networkContextFromIpJson, type NetworkContext } from '../net/target-guard.js';

/* What the daemon asks of the machine before any module starts: interfaces, addresses, free ports. */

export class StartupError extends Error {
  override name = 'StartupError';
}

export interface Interfaces {
  readonly lan: readonly string[];
  readonly wan: readonly string[];
}

function linkNames(): Promise<Set<string>> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['-j', 'link', 'show'], { timeout: 5000 }, (err, stdout) => {
      if (err) return reject(new StartupError(`cannot list network interfaces (ip -j link show): ${err.message}`));
      try {
        const names = (JSON.parse(stdout) as { ifname?: unknown }[]).map((l) => l.ifname).filter((n): n is string => typeof n === 'string');
        resolve(new Set(names));
      } catch (e) {
        reject(new StartupError(`cannot read the network interfaces (ip -j link show): ${(e as Error).message}`));
      }
    });
  });
}

/**
 * The guard's view of this gateway: LAN networks and own addresses of the configured interfaces, asked of
 * netlink like linkNames. Re-read now and then, since a DHCP lease can move the WAN address.
 */
export function interfaceNetworks(s: Interfaces): Promise<NetworkContext> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['-j', 'addr', 'show'], { timeout: 5000 }, (err, stdout) => {
      if (err) return reject(new StartupError(`cannot list interface addresses (ip -j addr show): ${err.message}`));
      try {
        resolve(networkContextFromIpJson(stdout, s.lan, s.wan));
      } catch (e) {
        reject(new StartupError(`cannot read interface addresses (ip -j addr show): ${(e as Error).message}`));
      }
    });
  });
}

/**
 * Interface names come from the config; a typo must stop the start, not silently protect nothing. Asks
 * netlink (ip) rather than /sys, which shows the host's interfaces inside a network namespace.
 */
export async function checkInterfaces(s: Interfaces): Promise<void> {
  if (s.lan.length + s.wan.length === 0) return;
  const present = await linkNames();
  for (const [key, names] of [
    ['interfaces.lan', s.lan],
    ['interfaces.wan', s.wan],
  ] as const) {
    for (const n of names) {
      if (!present.has(n)) throw new StartupError(`${key}: no network interface named "${n}" on this machine (have: ${[...present].join(', ')})`);
    }
  }
}

export type ListenerList = readonly (readonly [ListenerKey, string])[];

/**
 * Before the kernel is touched: a port that is taken (or an address this machine does not have), or a
 * socket another daemon answers on, refuses the start with the config key named and nothing changed.
 */
export async function checkListeners(listeners: ListenerList): Promise<void> {
  for (const [key, where] of listeners) {
    if (key === 'api.socket') await probeSocket(key, where);
    else await probeListen(key, where);
  }
}

/** Connection caps for the listeners in use, sized so that together they fit the open-file limit. */
export function listenerBudget(listeners: ListenerList, log: Logger): Partial<Record<ListenerKey, ListenerLimits>> {
  const wanted: Partial<Record<ListenerKey, ListenerLimits>> = {};
  for (const [key] of listeners) wanted[key] = LISTENER_LIMITS[key];
  const b = budgetLimits(wanted, openFileLimit());
  if (b.warning) log.warn({ openFileLimit: b.openFileLimit, connections: b.connections }, b.warning);
  return b.limits;
}
