import { execFile } from 'node:child_process';
import { pino, type Logger } from 'pino';
import { openDecisionStore, type DecisionStore } from '../decisions/store-service.js';
import { secureDataDir } from '../store/data-dir.js';
import { EnforcementView } from '../decisions/enforcement-view.js';
import type { BulkKernel } from '../decisions/bulk-add.js';
import { Enforcer } from '../firewall/enforcer.js';
import { HitCollector } from '../firewall/collector.js';
import { prepareBatchDir, systemNftRunner, type NftRunner } from '../firewall/nft.js';
import type { Mode } from '../firewall/ruleset.js';
import { BlockEventRepo } from '../store/block-events.js';
import { checkpoint } from '../store/db.js';
import { startCheckpointer } from '../store/checkpointer.js';
import { ClientDirectory } from '../net/clients.js';
import { adminRoutes } from '../api/admin-routes.js';
import { startAdminServers, type AdminServers } from '../api/server.js';
import { Periodic } from './periodic.js';
import type { GatehouseConfig } from '../config/index.js';
import { LapiCredentials } from '../store/lapi-credentials.js';
import { peerAdminRoutes } from '../api/peer-admin-routes.js';
import { startExtraServers, startFeeds, type ExtraServers } from './extras.js';
import type { RunningFeed } from './feed-status.js';
import { networkContextFromIpJson, type NetworkContext } from '../net/target-guard.js';
import { join } from 'node:path';
import { LISTENER_LIMITS, probeListen, probeSocket, type ListenerKey, type ListenerLimits } from '../net/listeners.js';
import { budgetLimits, openFileLimit } from '../net/fd-budget.js';
import { startLoopDelayMonitor } from './loop-delay.js'; // n8: event-loop delay in status

export interface DaemonSettings {
  readonly dataDir: string;
  readonly logLevel: string;
  readonly api: { readonly socket: string; readonly listen?: string; readonly tokenSha256?: string };
  readonly lan: readonly string[];
  readonly wan: readonly string[];
  readonly firewall: {
    readonly table: string;
    readonly inbound: Mode;
    readonly outbound: Mode;
    readonly hitPollMs: number;
    readonly blockRetentionMs: number;
    readonly expireMs: number;
  };
  readonly clientNames: ReadonlyMap<string, string>;
  readonly dhcpLeases?: string;
  /** Feeds, the CrowdSec-compatible API and the mirror read their sections as the config has them. */
  readonly source?: GatehouseConfig;
}

/** How long a stop waits for the nft run in flight (a million-element batch takes a few seconds). */
const ENFORCER_STOP_MS = 30_000;

export class StartupError extends Error {
  override name = 'StartupError';
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
function interfaceNetworks(s: DaemonSettings): Promise<NetworkContext> {
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
export async function checkInterfaces(s: DaemonSettings): Promise<void> {
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

/** The TCP listeners the settings enable, by the config key that opens them. */
function tcpListeners(s: DaemonSettings): [ListenerKey, string][] {
  const out: [ListenerKey, string][] = [];
  if (s.source?.lapi) out.push(['lapi.listen', s.source.lapi.listen]);
  if (s.source?.mirror) out.push(['mirror.listen', s.source.mirror.listen]);
  if (s.api.listen) out.push(['api.listen', s.api.listen]);
  return out;
}

/**
 * Before the kernel is touched: a port that is taken (or an address this machine does not have), or a
 * socket another daemon answers on, refuses the start with the config key named and nothing changed.
 */
async function checkListeners(s: DaemonSettings): Promise<void> {
  for (const [key, where] of tcpListeners(s)) await probeListen(key, where);
  await probeSocket('api.socket', s.api.socket);
}

/** Connection caps for the listeners in use, sized so that together they fit the open-file limit. */
function listenerBudget(s: DaemonSettings, log: Logger): Partial<Record<ListenerKey, ListenerLimits>> {
  const wanted: Partial<Record<ListenerKey, ListenerLimits>> = { 'api.socket': LISTENER_LIMITS['api.socket'] };
  for (const [key] of tcpListeners(s)) wanted[key] = LISTENER_LIMITS[key];
  const b = budgetLimits(wanted, openFileLimit());
  if (b.warning) log.warn({ openFileLimit: b.openFileLimit, connections: b.connections }, b.warning);
  return b.limits;
}

export interface RunningDaemon {
  readonly store: DecisionStore;
  readonly enforcer: Enforcer;
  readonly collector: HitCollector;
  readonly log: Logger;
  stop(): Promise<void>;
}

/**
 * Takes away a table this start created, after the enforcer's last transaction (bounded: a kernel that
 * keeps refusing must not hold the refusal up).
 */
async function removeTable(enforcer: Enforcer, nft: NftRunner, table: string, log: Logger): Promise<void> {
  await Promise.race([enforcer.settled(), new Promise((r) => setTimeout(r, 5000).unref())]);
  try {
    await nft.apply(`delete table inet ${table}\n`);
  } catch (e) {
    log.warn({ err: (e as Error).message, table }, 'could not remove the table this refused start created');
  }
}

/**
 * Starts the modules the settings enable. Stopping leaves the nftables table in place on purpose: the
 * kernel keeps protecting the network while the daemon is down, and the next start reconciles.
 */
export async function startDaemon(s: DaemonSettings, opts: { nft?: NftRunner; log?: Logger; enforcerStopMs?: number } = {}): Promise<RunningDaemon> {
  const log = opts.log ?? pino({ level: s.logLevel, base: undefined });
  await checkInterfaces(s);
  let network = await interfaceNetworks(s);
  const networkNow = (): NetworkContext => network;
  await checkListeners(s);
  const limits = listenerBudget(s, log);
  for (const c of secureDataDir(s.dataDir)) {
    log.warn({ path: c.path, was: c.was, now: c.now }, `tightened permissions of ${c.path} from ${c.was} to ${c.now}: the data dir holds the decision store and keys`);
  }
  const store = openDecisionStore(s.dataDir);
  // Batch files live under data_dir, not /tmp: a kill -9 mid-transaction leaves one, and this clears it.
  const nft = opts.nft ?? systemNftRunner(prepareBatchDir(join(s.dataDir, 'nft-batches')));
  // A start refused later on must leave the kernel as it found it: no new table, an old one kept.
  const hadTable = await nft.hasTable(s.firewall.table);
  const view = new EnforcementView(store.db);
  const hitTimeoutSec = Math.max(60, Math.ceil((s.firewall.hitPollMs * 10) / 1000));
  const ruleset = {
    table: s.firewall.table,
    lan: s.lan,
    wan: s.wan,
    inbound: s.firewall.inbound,
    outbound: s.firewall.outbound,
    hitTimeoutSec,
    hitSetSize: 65536,
  };
  const enforcer = new Enforcer(view, nft, ruleset, log);
  // Expire first so the reconcile does not load what is already over.
  store.service.expire();
  await enforcer.reconcile();
  const unsubscribe = store.service.onChange((c) => enforcer.handle(c));

  const blocks = new BlockEventRepo(store.db);
  const clients = new ClientDirectory({ names: s.clientNames, dhcpLeases: s.dhcpLeases });
  const collector = new HitCollector(store.db, blocks, store.service, nft, {
    table: s.firewall.table,
    hitTimeoutSec,
    mode: (dir) => (dir === 'in' ? s.firewall.inbound : s.firewall.outbound),
    clientInfo: (ip) => clients.lookup(ip),
  });
  collector.onHits((hits) => {
    for (const h of hits) {
      log.info(
        { direction: h.direction, client: h.clientIp, mac: h.clientMac, remote: h.remoteIp, port: h.port, proto: h.protocol, mode: h.mode, packets: h.packets },
        h.mode === 'blocked' ? 'blocked' : 'would have blocked (monitor mode)',
      );
    }
  });
  let collecting: Promise<unknown> | undefined;
  // One collection at a time: the API's "collect now" joins a running one instead of racing it.
  const collect = async (): Promise<void> => {
    if (!collecting) collecting = collector.collect().finally(() => (collecting = undefined));
    await collecting;
  };

  const timers = [
    new Periodic('collect hits', s.firewall.hitPollMs, collect, log),
    new Periodic('read interface addresses', 60_000, async () => void (network = await interfaceNetworks(s)), log),
    new Periodic(
      'expire decisions',
      s.firewall.expireMs,
      async () => {
        store.service.expire();
        // Decisions longer than the kernel's timeout cap are put back before it runs out.
        enforcer.reassertDue();
      },
      log,
    ),
    new Periodic(
      'purge old records',
      3600_000,
      async () => {
        const now = Date.now();
        blocks.purge(now - s.firewall.blockRetentionMs);
        store.service.purgeDeleted(now - 7 * 86400_000);
      },
      log,
    ),
  ];
  // In a worker thread: a checkpoint after a bulk load copies hundreds of MB, which must not stall the APIs.
  const checkpointer = startCheckpointer(store.db.name, 60_000, log);

  const credentials = new LapiCredentials(store.db);
  let feeds: RunningFeed[] = [];
  let extras: ExtraServers | undefined;
  const started = Date.now();
  const loopDelay = startLoopDelayMonitor(); // n8: event-loop delay in status
  let servers: AdminServers;
  // How bulk writers (imports, list feeds) hand addresses to the kernel ahead of the store, and wait for it.
  const bulkKernel: BulkKernel = {
    preload: (hosts) => enforcer.preload(hosts),
    discardPreload: () => enforcer.discardPreload(),
    waitForKernel: (max: number) => enforcer.backlogBelow(max),
  };
  try {
    if (s.source) {
      extras = await startExtraServers(s.source, store.service, credentials, { limits, log }, { network: networkNow, log });
      feeds = startFeeds(s.source, store.service, log, { ...bulkKernel, enforced: () => enforcer.settled() }, networkNow);
    }
    const admin = adminRoutes({
        decisions: store.service,
        blocks,
        enforced: () => enforcer.settled(),
        ...bulkKernel,
        collect,
        network: networkNow,
        status: (o) => ({
          startedAt: started,
          eventLoop: loopDelay.read(o.resetEventLoop), // n8: event-loop delay in status
          firewall: { table: s.firewall.table, inbound: s.firewall.inbound, outbound: s.firewall.outbound, ...enforcer.status },
          lapi: extras?.lapiAddress ?? null,
          mirror: extras?.mirrorAddress ?? null,
          feeds: feeds.length,
        }),
      });
    const peers = peerAdminRoutes({ feeds, credentials });
    servers = await startAdminServers(async (app) => {
      await app.register(admin);
      await app.register(peers);
    }, s.api, { limits, log });
  } catch (e) {
    unsubscribe();
    for (const t of timers) t.stop();
    await checkpointer.stop();
    await Promise.allSettled(feeds.map((f) => f.stop()));
    await extras?.close();
    await collecting;
    if (!hadTable) await removeTable(enforcer, nft, s.firewall.table, log);
    store.close();
    loopDelay.stop(); // n8: event-loop delay in status
    throw e;
  }
  log.info({ socket: s.api.socket, tcp: servers.tcpAddress, lapi: extras?.lapiAddress, mirror: extras?.mirrorAddress, table: s.firewall.table }, 'gatehouse is running');

  return {
    store,
    enforcer,
    collector,
    log,
    async stop() {
      for (const t of timers) t.stop();
      unsubscribe();
      await servers.close();
      await Promise.allSettled(feeds.map((f) => f.stop()));
      await extras?.close();
      // Not settled(): a stop must finish even while nft keeps refusing, or hangs; the next start reconciles.
      const waitMs = opts.enforcerStopMs ?? ENFORCER_STOP_MS;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), waitMs)));
      if ((await Promise.race([enforcer.stop(), late])) === 'late') log.error({ waitedMs: waitMs }, 'nft did not finish; stopping without it');
      clearTimeout(timer);
      await collecting;
      // The worker's checkpoint would make this TRUNCATE wait on its lock; stop it first.
      await checkpointer.stop();
      checkpoint(store.db);
      store.close();
      loopDelay.stop(); // n8: event-loop delay in status
    },
  };
}
