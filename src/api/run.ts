import { crowdsecRef } from '../crowdsec/index.js';
import { feedsRef, type RunningFeed } from '../feeds/index.js';
import { firewallRef } from '../firewall/index.js';
import type { Contribution, ModuleContext, RunningModule } from '../modules/index.js';
import { BlockEventRepo } from '../store/index.js';
import { LapiCredentials } from '../store/index.js';
import { adminRoutes } from './admin-routes.js';
import type { ApiProvides, ApiView } from './module.js';
import { peerAdminRoutes } from './peer-admin-routes.js';
import { startAdminServers } from './server.js';
import type { DaemonStatus } from './contract.js';
import { VERSION } from '../version.js';
import { startLoopDelayMonitor } from './loop-delay.js';

/** The api module's start: mounts every module's routes, and reports the modules running. */
export async function startApi(ctx: ModuleContext<ApiView>): Promise<Contribution<ApiProvides>> {
  const startedAt = Date.now();
  const firewall = ctx.get(firewallRef);
  // `feeds list` in the order the config lists them, whichever module runs each.
  const order = new Map(ctx.config.feeds.map((f, i) => [f.name, i]));
  const feeds: RunningFeed[] = [...(ctx.get(feedsRef)?.feeds ?? []), ...(ctx.get(crowdsecRef)?.feeds ?? [])].sort(
    (a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0),
  );
  const crowdsec = ctx.get(crowdsecRef);
  const others = ctx.running();
  // Started with the api: every API, the LAPI and the kernel writer share this thread, so the status
  // reports how late it ran (a stall anywhere is a stall for all of them).
  const loopDelay = startLoopDelayMonitor();
  const status = (o: { resetEventLoop: boolean } = { resetEventLoop: false }): DaemonStatus => {
    // Asked at each call, not at the api's start: the modules that start after it (the dashboard) are listed too.
    // Every module in the list runs (a start that fails stops the daemon).
    const now = ctx.running();
    const listed: readonly RunningModule[] = now.some((m) => m.name === 'api') ? now : [...now, { name: 'api' }];
    const modules = listed.map((m) => ({ name: m.name, state: 'running' as const, ...(m.status ? { status: m.status() } : {}) }));
    return {
      version: VERSION,
      startedAt,
      modules,
      firewall: firewall?.status() ?? null,
      lapi: crowdsec?.lapiAddress ?? null,
      mirror: crowdsec?.mirrorAddress ?? null,
      feeds: feeds.length,
      eventLoop: loopDelay.read(o.resetEventLoop),
    };
  };
  const blocks = new BlockEventRepo(ctx.store);
  const admin = adminRoutes({
    decisions: ctx.decisions,
    blocks,
    enforced: firewall?.enforced ?? (async () => undefined),
    collect: firewall?.collect ?? (async () => undefined),
    ...(firewall ? { preload: firewall.preload, discardPreload: firewall.discardPreload, waitForKernel: firewall.waitForKernel } : {}),
    network: ctx.network,
    status,
  });
  const peers = peerAdminRoutes({ feeds, credentials: new LapiCredentials(ctx.store) });
  const contributed = others.flatMap((m) => (m.routes ? [m.routes] : []));
  const a = ctx.config.api;
  // One plugin for every admin route: the socket, api.listen and the dashboard's /api all mount this one.
  const routes = async (app: import('fastify').FastifyInstance) => {
    await app.register(admin);
    await app.register(peers);
    for (const r of contributed) await app.register(r);
  };
  const servers = await startAdminServers(
    routes,
    { socket: a.socket, ...(a.listen ? { listen: a.listen } : {}), ...(a.token_sha256 ? { tokenSha256: a.token_sha256 } : {}) },
    { limits: ctx.listenerLimits, log: ctx.log },
  );
  ctx.log.info({ socket: a.socket, tcp: servers.tcpAddress }, 'admin API listening');
  return {
    provides: { routes },
    status: () => ({ socket: a.socket, tcp: servers.tcpAddress ?? null }),
    stop: async () => {
      await servers.close();
      await blocks.close();
      loopDelay.stop();
    },
  };
}
