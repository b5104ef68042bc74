import { join } from 'node:path';
import { clientsRef } from '../clients/index.js';
import { EnforcementView } from '../decisions/index.js';
import type { Contribution, ModuleContext } from '../modules/index.js';
import { BlockEventRepo } from '../store/index.js';
import { HitCollector } from './collector.js';
import { Enforcer } from './enforcer.js';
import type { FirewallApi, FirewallOptions, FirewallView } from './module.js';
import { prepareBatchDir, systemNftRunner, type NftRunner } from './nft.js';
import type { KernelFragment } from './fragment.js';
import { kernelRuntime, type KernelRuntime } from './runtime.js';

/** How long a stop waits for the nft run in flight (a million-element batch takes a few seconds). */
const ENFORCER_STOP_MS = 30_000;

/** The firewall module's start (loaded only when the firewall runs). */
/** A flood (a scan, a thousand pairs a second) would write a log line per pair; the block report has them all. */
const HIT_LOG_LINES_PER_RUN = 50;

export async function startFirewall(ctx: ModuleContext<FirewallView>, opts: FirewallOptions): Promise<Contribution<FirewallApi>> {
  const fw = ctx.config.firewall;
  const { lan, wan } = ctx.config.interfaces;
  const log = ctx.log;
  // Batch files live under data_dir, not /tmp: a kill -9 mid-transaction leaves one, and this clears it.
  const nft = opts.nft ?? systemNftRunner(prepareBatchDir(join(ctx.dataDir, 'nft-batches')));
  // A start refused later on must leave the kernel as it found it: no new table, an old one kept.
  const hadTable = await nft.hasTable(fw.table);
  const hitTimeoutSec = Math.max(60, Math.ceil((fw.hit_poll_interval * 10) / 1000));
  const ruleset = { table: fw.table, lan, wan, inbound: fw.inbound, outbound: fw.outbound, hitTimeoutSec, hitSetSize: 65536 };
  const enforcer = new Enforcer(new EnforcementView(ctx.store), nft, ruleset, log);
  // Expire first so the reconcile does not load what is already over.
  ctx.decisions.expire();
  await enforcer.reconcile();
  const unsubscribe = ctx.bus.subscribe('decisions.changed', (c) => enforcer.handle(c), 'firewall enforcer');
  const blocks = new BlockEventRepo(ctx.store);
  const clients = ctx.get(clientsRef);
  const collector = new HitCollector(ctx.store, blocks, ctx.decisions, nft, {
    table: fw.table,
    hitTimeoutSec,
    mode: (dir) => (dir === 'in' ? fw.inbound : fw.outbound),
    clients: clients ?? { whoIs: async () => ({ mac: null, name: null }) },
    events: ctx.bus,
    log,
  });
  const unsubscribeHits = ctx.bus.subscribe('firewall.blocked', (hits) => {
    for (const h of hits.slice(0, HIT_LOG_LINES_PER_RUN)) {
      log.info(
        { direction: h.direction, client: h.clientIp, mac: h.clientMac, remote: h.remoteIp, domain: h.domain, port: h.port, proto: h.protocol, mode: h.mode, packets: h.packets },
        h.mode === 'blocked' ? 'blocked' : 'would have blocked (monitor mode)',
      );
    }
    if (hits.length > HIT_LOG_LINES_PER_RUN) {
      const packets = hits.slice(HIT_LOG_LINES_PER_RUN).reduce((n, h) => n + h.packets, 0);
      log.info({ pairs: hits.length - HIT_LOG_LINES_PER_RUN, packets }, 'blocked: more pairs in this collector run, not logged one by one (all in the block report)');
    }
  }, 'firewall hit log');
  const collectJob = ctx.scheduler.every('collect hits', fw.hit_poll_interval, async () => void (await collector.collect()));
  // One collection at a time: the API's "collect now" waits for a running one, then collects again.
  const collect = (): Promise<void> => collectJob.runNow();
  const jobs = [
    collectJob,
    // Decisions longer than the kernel's timeout cap are put back before it runs out.
    ctx.scheduler.every('reassert long decisions', fw.expire_interval, () => void enforcer.reassertDue()),
    ctx.scheduler.every('purge old block events', 3600_000, () => void blocks.purge(ctx.scheduler.clock.now() - fw.block_event_retention)),
  ];
  // Modules' runtime changes wait for the table that declares their objects: the daemon applies every
  // fragment once all modules have started (daemon/kernel.ts), after their start returned.
  let fragments: readonly KernelFragment[] = [];
  let appliedOnce: () => void = () => undefined;
  const applied = new Promise<void>((resolve) => (appliedOnce = resolve));
  const runtime = (module: string): KernelRuntime =>
    kernelRuntime({
      table: fw.table,
      nft,
      module,
      fragment: () => fragments.find((f) => f.module === module),
      ready: async () => {
        await applied;
        await enforcer.settled();
      },
    });
  const status = () => ({ table: fw.table, inbound: fw.inbound, outbound: fw.outbound, ...enforcer.status });
  return {
    provides: {
      status,
      enforced: () => enforcer.settled(),
      collect,
      enforcer,
      collector,
      preload: (hosts) => enforcer.preload(hosts),
      discardPreload: () => enforcer.discardPreload(),
      waitForKernel: (max: number) => enforcer.backlogBelow(max),
      setDomainSource: (source) => collector.setDomainSource(source),
      async setFragments(next) {
        enforcer.setFragments(next);
        fragments = [...next];
        await enforcer.settled();
        appliedOnce();
      },
      runtime,
    },
    status,
    async stop(reason) {
      // Waits for a collection in progress (the others are quick).
      const jobsDone = Promise.allSettled(jobs.map((j) => j.stop()));
      unsubscribe();
      if (reason === 'rollback') {
        await jobsDone;
        unsubscribeHits();
        if (!hadTable) await removeTable(enforcer, nft, fw.table, log);
        return;
      }
      // Not settled(): a stop must finish even while nft keeps refusing, or hangs; the next start reconciles.
      const waitMs = opts.stopMs ?? ENFORCER_STOP_MS;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), waitMs)));
      if ((await Promise.race([enforcer.stop(), late])) === 'late') log.error({ waitedMs: waitMs }, 'nft did not finish; stopping without it');
      clearTimeout(timer);
      await jobsDone;
      unsubscribeHits();
    },
  };
}

/**
 * Takes away a table this start created, after the enforcer's last transaction (bounded: a kernel that
 * keeps refusing must not hold the refusal up).
 */
async function removeTable(enforcer: Enforcer, nft: NftRunner, table: string, log: { warn(o: object, m: string): void }): Promise<void> {
  await Promise.race([enforcer.settled(), new Promise((r) => setTimeout(r, 5000).unref())]);
  try {
    await nft.apply(`delete table inet ${table}\n`);
  } catch (e) {
    log.warn({ err: (e as Error).message, table }, 'could not remove the table this refused start created');
  }
}
