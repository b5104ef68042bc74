import { clientsRef } from '../clients/index.js';
import { parseListenAddress } from '../config/index.js';
import { dnsRef } from '../dns/index.js';
import { firewallRef } from '../firewall/index.js';
import type { Contribution, ModuleContext } from '../modules/index.js';
import { shaperRef } from '../shaper/index.js';
import { covers, tryParseTarget } from '../net/ip.js';
import { BlockEventRepo } from '../store/index.js';
import type { PortalConfig } from './config.js';
import { portalFragment, portalKernel } from './kernel/index.js';
import { SessionManager } from './manager.js';
import type { PortalView } from './module.js';
import { portalRoutes } from './routes.js';
import { SessionRepo, UsageRepo } from './session-repo.js';
import { UserRepo } from './users.js';
import { VoucherRepo } from './vouchers.js';
import { startPortalWeb, type PortalWeb } from './web/index.js';
import type { PortalSessions } from './types.js';
import { dayKey } from './limits.js';

/** Ended sessions are kept this long for `sessions list`'s history and the status page; per-day usage 60 days. */
const KEEP_ENDED_MS = 7 * 86_400_000;
const KEEP_USAGE_DAYS = 60;

/** `portal.exempt` split the way the kernel's sets hold it. */
export function exemptions(c: PortalConfig) {
  const macs: string[] = [];
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const e of c.exempt) {
    if ('mac' in e) macs.push(e.mac);
    else (e.target.includes(':') ? ipv6 : ipv4).push(e.target);
  }
  return { macs, ipv4, ipv6 };
}

/** Ports an unauthorised client may still use on the gateway for DNS: 53 and the DNS filter's own. */
function dnsPorts(v: PortalView): number[] {
  const ports = new Set([53]);
  for (const l of v.dns?.listen ?? []) ports.add(parseListenAddress(l).port);
  return [...ports];
}

export async function startPortal(ctx: ModuleContext<PortalView>): Promise<Contribution<PortalSessions>> {
  const c = ctx.config.portal;
  if (!c) throw new Error('portal module started without a portal: section');
  const firewall = ctx.get(firewallRef);
  const clients = ctx.get(clientsRef);
  if (!firewall || !clients) throw new Error('the portal needs the firewall and clients modules');
  const listen = parseListenAddress(c.listen);
  const tlsPort = c.tls ? parseListenAddress(c.tls.listen).port : undefined;
  // portal.interfaces ⊆ interfaces.lan: the composed config schema refuses anything else (lanInterfaceKeys in module.ts).
  const lan = c.interfaces ?? ctx.config.interfaces.lan;
  const kernel = portalFragment({ lanInterfaces: lan, portalPort: listen.port, ...(tlsPort ? { extraPortalPorts: [tlsPort] } : {}), dnsPorts: dnsPorts(ctx.config) });
  const runtime = firewall.runtime('portal');
  const clock = () => ctx.scheduler.clock.now();
  const portalKernelImpl = portalKernel({
    runtime,
    exempt: exemptions(c),
    now: clock,
    onFlushError: (ip, message) => ctx.log.warn({ ip, err: message }, 'portal: conntrack could not drop the flows of an ended session'),
  });
  const fairUse = ctx.get(shaperRef);
  const sessions = new SessionRepo(ctx.store);
  const usage = new UsageRepo(ctx.store);
  const users = new UserRepo(ctx.store, clock);
  const vouchers = new VoucherRepo(ctx.store, clock);
  const manager = new SessionManager({
    config: c,
    kernel: portalKernelImpl,
    devices: clients,
    users,
    vouchers,
    sessions,
    usage,
    bus: ctx.bus,
    log: ctx.log,
    clock,
    ...(fairUse ? { fairUse } : {}),
    transaction: (fn) => ctx.store.transaction(fn)(),
  });

  const stops: (() => unknown)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s();
  };
  try {
    // The kernel table holding the portal's sets is applied after every module started: re-assert then.
    let started = false;
    const ready = runtime
      .ready()
      .then(() => manager.start())
      .then(() => ctx.log.info({ sessions: manager.list().length }, 'portal sessions re-asserted in the kernel'))
      .catch((e: unknown) => ctx.log.error({ err: (e as Error).message }, 'portal: re-asserting sessions in the kernel failed; the limits loop runs on what the store holds'))
      // Even after a failure the loop must run: it is what ends sessions at their limits.
      .finally(() => (started = true));
    stops.push(() => ready);
    const loop = ctx.scheduler.every('portal limits', c.poll, async () => {
      if (started) await manager.tick();
    });
    stops.push(() => loop.stop());
    const purge = ctx.scheduler.every('portal purge', 3_600_000, () => {
      const now = clock();
      sessions.purgeEnded(now - KEEP_ENDED_MS);
      usage.purge(dayKey(now - KEEP_USAGE_DAYS * 86_400_000));
    });
    stops.push(() => purge.stop());
    // A device that shows a new address (DHCP renew, IPv6 privacy address) keeps its session once the neighbour
    // table puts that address at the session's MAC.
    stops.push(
      ctx.bus.subscribe('clients.seen', (e) => {
        if (started && tryParseTarget(e.address)?.isHost) void manager.adopt(e.address).catch(() => undefined);
      }),
    );

    const web: PortalWeb = await startPortalWeb({
      sessions: manager,
      config: { listen: c.listen, auth: c.auth, ...(c.tls ? { tls: c.tls } : {}), texts: c.texts },
      blocks: new BlockEventRepo(ctx.store),
      deviceName: async (_mac, ip) => (await clients.whoIs(ip)).name ?? undefined,
      // The ad-list switch on /status, when the DNS filter runs.
      ...(ctx.get(dnsRef) ? { dns: ctx.get(dnsRef)!.optout } : {}),
      // Only the captive LAN: with a wildcard portal.listen the pages would answer the WAN too.
      clientAllowed: (ip) => {
        const lanNets = ctx.network().lan.filter((n) => lan.includes(n.ifname));
        const t = tryParseTarget(ip);
        // No LAN networks known (interfaces not up yet): refuse nobody rather than everybody.
        return lanNets.length === 0 || (t !== undefined && lanNets.some((n) => covers(n.target, t)));
      },
      // A device sent back by a limit is told which one on the login page.
      endings: (fn) => ctx.bus.subscribe('portal.logout', fn),
      log: ctx.log,
      ...(ctx.listenerLimits['portal.listen'] ? { limits: ctx.listenerLimits['portal.listen'] } : {}),
      now: clock,
    });
    stops.push(() => web.close());
    ctx.log.info({ urls: web.urls, interfaces: lan, auth: c.auth, throttle: fairUse !== undefined }, 'captive portal listening');

    return {
      kernel,
      routes: portalRoutes({ users, vouchers, manager }),
      provides: manager,
      status: () => ({ listen: web.urls.join(' '), sessions: manager.list().length, auth: c.auth.join(',') }),
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
