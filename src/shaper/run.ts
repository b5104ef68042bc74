import { clientsRef } from '../clients/index.js';
import { firewallRef, launch } from '../firewall/index.js';
import type { Contribution, ModuleContext } from '../modules/index.js';
import { ShaperController } from './controller.js';
import { shaperFragment } from './fragment.js';
import { createCapWatcher, detectionParts, enableConntrackAcct, type AcctState, type CapWatcher, type GuardCap } from './guards/index.js';
import type { ShaperView } from './module.js';
import { countConnections, createP2pTracker, readConntrack, type P2pTracker } from './p2p/index.js';
import { deviceSpecs } from './plan.js';
import { shaperRoutes } from './routes.js';
import type { ShaperStatusReport } from './status.js';
import { deviceExists, detectCapabilities, teardown, type Runner } from './tc.js';
import type { ShaperApi } from './types.js';
import { UsageRepo } from './usage.js';

/** How often the counter sets are read and classes reconciled. */
export const TICK_MS = 2000;
/** Connections (conntrack) and cap hits are read every this many ticks. */
const SLOW_EVERY = 5;
/** Hourly usage older than this is dropped (checked about once an hour). */
const USAGE_KEEP_MS = 90 * 86_400_000;
const PRUNE_EVERY = 1800;

export class ShaperStartError extends Error {
  override name = 'ShaperStartError';
}

export async function startShaper(ctx: ModuleContext<ShaperView>): Promise<Contribution<ShaperApi>> {
  const cfg = ctx.config.shaper;
  if (!cfg) throw new ShaperStartError('shaper: no shaper section');
  const firewall = ctx.get(firewallRef);
  if (!firewall) throw new ShaperStartError('shaper: needs the firewall (interfaces: lan/wan)');
  const lan = cfg.interfaces?.lan ?? ctx.config.interfaces.lan;
  const wan = cfg.interfaces?.wan ?? ctx.config.interfaces.wan;
  if (lan.length === 0 || wan.length === 0) throw new ShaperStartError('shaper: needs LAN and WAN interfaces (shaper.interfaces or interfaces.lan/wan)');
  const run: Runner = launch;
  for (const dev of [...lan, ...wan]) {
    if (!(await deviceExists(dev, run))) throw new ShaperStartError(`shaper: interface ${dev} does not exist`);
  }
  const caps = await detectCapabilities(run);
  if (!caps.htb) throw new ShaperStartError('shaper: this kernel has no HTB qdisc (sch_htb): nothing to shape with');
  const capabilities = { htb: caps.htb, cake: caps.cake, fq_codel: caps.fq_codel, sfq: caps.sfq, leaf: caps.leaf };
  ctx.log.info({ ...capabilities, probed: caps.probed }, 'shaper: qdiscs available');

  const runtime = firewall.runtime('shaper');
  const devices = deviceSpecs(lan, wan, cfg.download, cfg.upload, caps.leaf);
  const usage = new UsageRepo(ctx.store);
  const guardCaps: GuardCap[] = ['max_connections', 'new_connections_per_second'];
  const kernel = shaperFragment({
    lan,
    wan,
    idleSec: Math.round(cfg.idle / 1000),
    parts: detectionParts({ lan, p2p: cfg.p2p, maxConnections: cfg.max_connections, newConnectionsPerSecond: cfg.new_connections_per_second }),
  });
  const tracker: P2pTracker | undefined = cfg.p2p === 'throttle' ? createP2pTracker({ runtime, events: ctx.bus, log: ctx.log }) : undefined;
  const capWatcher: CapWatcher = createCapWatcher({ runtime, caps: guardCaps, events: ctx.bus });
  const clients = ctx.get(clientsRef);
  const controller = new ShaperController({
    runtime,
    devices,
    p2pBps: cfg.p2p_rate,
    fairUseBps: cfg.fair_use_rate,
    usage,
    log: ctx.log,
    run,
    clients,
    ...(tracker ? { p2pEvidence: (a: string) => tracker.evidenceFor(a) } : {}),
    // With P2P detection on, its conntrack listing (every 5 s) already has the counts: one listing, not two.
    connections: async () => (tracker ? tracker.connections() : countConnections(await readConntrack(run))),
  });

  const devNames = devices.map((d) => d.dev);
  const removeQdiscs = async (): Promise<void> => {
    for (const dev of devNames) await teardown(dev, run).catch((e: Error) => ctx.log.warn({ dev, err: e.message }, 'shaper: could not remove the qdisc'));
  };
  try {
    await controller.installRoots();
  } catch (e) {
    await removeQdiscs();
    throw new ShaperStartError(`shaper: could not set up HTB: ${(e as Error).message}`);
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let acct: AcctState = { enabled: false, error: 'not yet set (waiting for the table)' };
  let ticks = 0;
  const loop = async (): Promise<void> => {
    if (stopped) return;
    await controller.tick();
    if (ticks % PRUNE_EVERY === 0) {
      try {
        usage.pruneBefore(Date.now() - USAGE_KEEP_MS);
      } catch (e) {
        ctx.log.warn({ err: (e as Error).message }, 'shaper: could not prune old usage');
      }
    }
    if (ticks++ % SLOW_EVERY === 0) {
      await controller.refreshConnections().catch((e: Error) => ctx.log.warn({ err: e.message }, 'shaper: conntrack count failed'));
      await capWatcher.poll().catch((e: Error) => ctx.log.warn({ err: e.message }, 'shaper: cap watch failed'));
    }
    if (!stopped) timer = setTimeout(() => void loop(), TICK_MS);
  };
  // The table with the fragment is applied after every module started: the loop begins then.
  const started = (async () => {
    await runtime.ready();
    if (stopped) return;
    acct = await enableConntrackAcct();
    await controller.adoptKernel();
    await controller.tick();
    await controller.removeStrayClasses().catch((e: Error) => ctx.log.warn({ err: e.message }, 'shaper: stray classes stay'));
    tracker?.start(5000);
    timer = setTimeout(() => void loop(), TICK_MS);
  })().catch((e: Error) => ctx.log.error({ err: e.message }, 'shaper: the control loop could not start'));

  const status = async (): Promise<ShaperStatusReport> => {
    const s = controller.stats();
    return {
      download: cfg.download,
      upload: cfg.upload,
      interfaces: { lan, wan },
      capabilities,
      probed: caps.probed,
      p2p: cfg.p2p,
      clients: controller.clients(),
      conntrackAcct: acct,
      loop: { ticks: s.ticks, lastTickMs: s.lastTickMs, ...(s.lastError ? { lastError: s.lastError } : {}), sharesCreated: s.created, sharesRemoved: s.removed },
      capHits: capWatcher.hits().map((h) => ({ client: h.client, cap: h.cap, refused: h.refused })),
    };
  };

  const api: ShaperApi = {
    setFairUse: (ips, on, reason) => controller.setFairUse(ips, on, reason),
    setOwner: (ips, owner) => controller.setOwner(ips, owner),
    status,
  };

  return {
    kernel,
    provides: api,
    routes: shaperRoutes({ status, usage: (from, client) => ({ rows: usage.rows(from, client) }), setFairUse: api.setFairUse }),
    status: () => ({ download: cfg.download, upload: cfg.upload, leaf: caps.leaf, clients: controller.shareCount() }),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      tracker?.stop();
      await Promise.race([started, new Promise((r) => setTimeout(r, 2000))]);
      // Unshaped but working: the classification maps stay (harmless without the qdiscs, adopted on restart).
      await removeQdiscs();
    },
  };
}
