import { pino, type Logger } from 'pino';
import { openDecisionStore, type DecisionStore } from '../decisions/index.js';
import type { Enforcer, FirewallOptions, HitCollector, NftRunner } from '../firewall/index.js';
import type { EventBus, Scheduler } from '../modules/index.js';
import type { NetworkContext } from '../net/target-guard.js';
import { checkpoint } from '../store/db.js';
import { startCheckpointer } from '../store/checkpointer.js';
import { secureDataDir } from '../store/data-dir.js';
import type { GatehouseConfig } from './config.js';
import { checkInterfaces, checkListeners, interfaceNetworks, listenerBudget, type ListenerList } from './host.js';
import { startModules, startOrder, stopModules, type AnyModule } from './lifecycle.js';
import { gatehouseModules } from './modules.js';
import { Periodic } from './periodic.js';

export { StartupError, checkInterfaces } from './host.js';

/*
 * The composition root: opens what every module shares (the data dir, the store, the network view, the
 * listener budget), starts the modules the config enables in dependency order, and stops them in
 * reverse. Everything a module does lives in its own folder.
 */

export interface RunningDaemon {
  readonly store: DecisionStore;
  /** The modules running, in start order. */
  readonly modules: readonly string[];
  /** The firewall's parts, when the firewall runs (tests reach into them). */
  readonly enforcer?: Enforcer | undefined;
  readonly collector?: HitCollector | undefined;
  readonly log: Logger;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  readonly nft?: NftRunner;
  readonly log?: Logger;
  /** How long a stop waits for the nft run in flight. */
  readonly enforcerStopMs?: number;
}

/** n2 replaces this with the shared scheduler; until then each task is a Periodic of its own. */
function periodicScheduler(log: Logger): Scheduler & { stopAll(): void } {
  const all: Periodic[] = [];
  return {
    every(name, everyMs, task) {
      const p = new Periodic(name, everyMs, task, log);
      all.push(p);
      return p;
    },
    stopAll: () => all.forEach((p) => p.stop()),
  };
}

export async function startDaemon(config: GatehouseConfig, opts: DaemonOptions = {}): Promise<RunningDaemon> {
  const log = opts.log ?? pino({ level: config.log_level, base: undefined });
  const firewall: FirewallOptions = { ...(opts.nft ? { nft: opts.nft } : {}), ...(opts.enforcerStopMs !== undefined ? { stopMs: opts.enforcerStopMs } : {}) };
  const all: readonly AnyModule<GatehouseConfig>[] = gatehouseModules({ firewall });
  const modules = startOrder(
    all.filter((m) => m.enabled(config)),
    all,
  );
  await checkInterfaces(config.interfaces);
  let network: NetworkContext = await interfaceNetworks(config.interfaces);
  const listeners: ListenerList = modules.flatMap((m) => m.listeners?.(config) ?? []).sort(([a], [b]) => Number(a === 'api.socket') - Number(b === 'api.socket'));
  await checkListeners(listeners);
  const listenerLimits = listenerBudget(listeners, log);
  for (const c of secureDataDir(config.data_dir)) {
    log.warn({ path: c.path, was: c.was, now: c.now }, `tightened permissions of ${c.path} from ${c.was} to ${c.now}: the data dir holds the decision store and keys`);
  }
  const store = openDecisionStore(config.data_dir);
  const scheduler = periodicScheduler(log);
  scheduler.every('read interface addresses', 60_000, async () => void (network = await interfaceNetworks(config.interfaces)));
  // In a worker thread: a checkpoint after a bulk load copies hundreds of MB, which must not stall the APIs.
  const checkpointer = startCheckpointer(store.db.name, 60_000, log);
  const bus: EventBus = {};
  let started;
  try {
    started = await startModules(modules, {
      config,
      log,
      dataDir: config.data_dir,
      store: store.db,
      decisions: store.service,
      bus,
      scheduler,
      network: () => network,
      listenerLimits,
    });
  } catch (e) {
    scheduler.stopAll();
    await checkpointer.stop();
    store.close();
    throw e;
  }
  const names = started.map((s) => s.name);
  const fw = started.find((s) => s.name === 'firewall')?.contribution.provides as { enforcer: Enforcer; collector: HitCollector } | undefined;
  log.info({ modules: names, data_dir: config.data_dir }, 'gatehouse is running');
  return {
    store,
    modules: names,
    enforcer: fw?.enforcer,
    collector: fw?.collector,
    log,
    async stop() {
      scheduler.stopAll();
      await stopModules(started, 'stop', log);
      // The worker's checkpoint would make this TRUNCATE wait on its lock; stop it first.
      await checkpointer.stop();
      checkpoint(store.db);
      store.close();
    },
  };
}
