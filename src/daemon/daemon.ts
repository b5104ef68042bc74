import { pino, type Logger } from 'pino';
import { openDecisionStore, type DecisionStore } from '../decisions/index.js';
import type { Enforcer, FirewallOptions, HitCollector, NftRunner } from '../firewall/index.js';
import { createEventBus } from '../events/index.js';
import { createScheduler } from '../scheduler/index.js';
import type { NetworkContext } from '../net/target-guard.js';
import { checkpoint } from '../store/index.js';
import { startCheckpointer } from '../store/index.js';
import { secureDataDir } from '../store/index.js';
import type { GatehouseConfig } from './config.js';
import { checkInterfaces, checkListeners, interfaceNetworks, listenerBudget, type ListenerList } from './host.js';
import { firewallRef } from '../firewall/index.js';
import { applyFragments } from './kernel.js';
import { providedBy, startModules, startOrder, stopModules, type AnyModule, type Started } from './lifecycle.js';
import { gatehouseModules } from './modules.js';

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
  // The one event bus and the one scheduler every module runs on.
  const bus = createEventBus({ onError: (err, where) => log.error({ err: err.message, ...where }, 'event subscriber failed') });
  const scheduler = createScheduler({ log });
  // Each module's schema, applied at open; the decisions' own core schema comes first.
  const migrations = all.flatMap((m) => (m.migrations ? [m.migrations] : []));
  const store = openDecisionStore(config.data_dir, { events: bus, migrations });
  scheduler.every('read interface addresses', 60_000, async () => void (network = await interfaceNetworks(config.interfaces)));
  // In a worker thread: a checkpoint after a bulk load copies hundreds of MB, which must not stall the APIs.
  const checkpointer = startCheckpointer(store.db.name, 60_000, log, { scheduler });
  let started: Started[];
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
    try {
      await applyFragments(started, { table: config.firewall.table, dataDir: config.data_dir, nft: opts.nft, log });
    } catch (e) {
      await stopModules(started, 'rollback', log);
      throw e;
    }
  } catch (e) {
    await scheduler.stop();
    await checkpointer.stop();
    store.close();
    throw e;
  }
  const names = started.map((s) => s.name);
  const fw = providedBy(started, firewallRef);
  log.info({ modules: names, data_dir: config.data_dir }, 'gatehouse is running');
  return {
    store,
    modules: names,
    enforcer: fw?.enforcer,
    collector: fw?.collector,
    log,
    async stop() {
      // Modules stop their own jobs (waiting for a run in progress where they must); this ends the rest.
      await stopModules(started, 'stop', log);
      await scheduler.stop();
      // The worker's checkpoint would make this TRUNCATE wait on its lock; stop it first.
      await checkpointer.stop();
      checkpoint(store.db);
      store.close();
    },
  };
}
