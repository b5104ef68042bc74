import { cpus } from 'node:os';
import { join } from 'node:path';
import { clientsRef, type LanDevice } from '../clients/index.js';
import { firewallRef } from '../firewall/index.js';
import { OutboundView } from '../decisions/index.js';
import type { Contribution, ModuleContext } from '../modules/index.js';
import { parseListenAddress } from '../config/index.js';
import { workerCount, type DnsConfig } from './config.js';
import { buildGroupTable, clientTags, listLayout, localHosts } from './groups.js';
import { collectGarbageNow } from './gc-hint.js';
import { DnsLists } from './lists/index.js';
import { writeIndexFile } from './lists/index-file.js';
import type { WorkerSettings } from './ipc.js';
import type { DnsView } from './module.js';
import { OptoutRepo } from './optout.js';
import { IpIndexFeed, type IpIndexUpdate } from './parts.js';
import { QueryLogService } from './querylog/service.js';
import { queryLogPath } from './querylog/schema.js';
import { queryLogRoutes } from './querylog/routes.js';
import { startQueryLogMaintenance } from './querylog/maintenance.js';
import { dnsRedirectFragment } from './redirect.js';
import { dnsRoutes } from './routes.js';
import { Supervisor } from './supervisor.js';
import type { DnsApi, DnsStatus } from './types.js';

/** What the workers need from the config, in their own terms (seconds for TTLs, a list id per name). */
export function workerSettings(c: DnsConfig, dataDir: string, listNames: readonly string[], privateNets: readonly string[]): WorkerSettings {
  return {
    upstreams: c.upstreams,
    strategy: c.strategy,
    upstreamTimeoutMs: c.upstream_timeout,
    forward: c.forward.map((f) => ({ domain: f.domain, upstreams: typeof f.upstream === 'string' ? [f.upstream] : f.upstream })),
    blockAnswer: c.block_answer,
    blockTtlSec: Math.max(1, Math.round(c.block_ttl / 1000)),
    answerCheck: c.answer_check,
    rebinding: c.rebinding_protection,
    rebindingAllow: c.rebinding_allow,
    cache: {
      size: c.cache.size,
      maxBytes: c.cache.max_bytes,
      minTtlSec: Math.round(c.cache.min_ttl / 1000),
      maxTtlSec: Math.round(c.cache.max_ttl / 1000),
      negativeMaxTtlSec: Math.round(c.cache.negative_max_ttl / 1000),
      prefetch: c.cache.prefetch,
    },
    queryLog: { file: queryLogPath(dataDir), mode: c.query_log.mode },
    listNames,
    privateNets,
    localDomain: c.local_domain,
    tcpIdleMs: 10_000,
    tcpMaxConnections: 1000,
  };
}

export async function startDns(ctx: ModuleContext<DnsView>): Promise<Contribution<DnsApi>> {
  const c = ctx.config.dns;
  if (!c) throw new Error('dns module started without a dns: section');
  const layout = listLayout(c);
  const kernel = dnsRedirectFragment({
    enabled: c.redirect_lan,
    lanInterfaces: ctx.config.interfaces.lan,
    listen: c.listen.map((l) => {
      const a = parseListenAddress(l);
      return { host: a.host === 'localhost' ? '127.0.0.1' : a.host, port: a.port };
    }),
  });
  const settings = workerSettings(c, ctx.dataDir, layout.names, [...ctx.network().lan, ...ctx.network().own].map((n) => n.target.text));
  const sup = await Supervisor.start({ listen: c.listen, workers: workerCount(c, cpus().length), settings, log: ctx.log });
  const stops: (() => unknown)[] = [];
  const stopAll = async () => {
    await Promise.allSettled(stops.map(async (s) => s()));
    await sup.stop();
  };
  try {
    // Lists: downloaded after the workers listen; the start waits a few seconds for the first index so a
    // freshly started gateway filters at once when its lists are at hand (a slow download finishes later).
    let builtAt: number | null = null;
    let rules = 0;
    // The index reaches the workers as a file (one read, one buffer each), written one generation at a time.
    const indexFile = join(ctx.dataDir, 'dns-domains.idx');
    let generation = 0;
    let writing: Promise<void> = Promise.resolve();
    const lists = new DnsLists(
      { blocklists: c.blocklists, allowlists: c.allowlists },
      {
        scheduler: ctx.scheduler,
        log: ctx.log,
        // The workers answer from the file; the daemon keeps only the per-list rules a rebuild merges.
        retainIndex: false,
        onIndex: (index) => {
          const gen = ++generation;
          writing = writing.then(async () => {
            try {
              await writeIndexFile(index, indexFile, gen);
            } catch (e) {
              ctx.log.error({ file: indexFile, err: (e as Error).message }, 'DNS domain index could not be written for the workers; they keep the previous one');
              return;
            }
            builtAt = Date.now();
            rules = index.size;
            sup.broadcast({ t: 'domains', file: indexFile, generation: gen, rules: index.size });
            // Later, not here: this closure still holds the index (so does the lists' build loop until it returns).
            setTimeout(collectGarbageNow, 200).unref();
          });
        },
      },
    );
    lists.start();
    stops.push(() => lists.stop());
    stops.push(() => writing);
    // (Polling the status rather than refresh(): that would download every list a second time.)
    const until = Date.now() + 5000;
    while (Date.now() < until && lists.status().some((l) => l.lastAttemptAt === null || l.nextRunAt === null)) await new Promise((r) => setTimeout(r, 50));

    // The answer check's IP index: built from the store's outbound decisions in steps, then deltas.
    let ipCount = 0;
    const ipFeed = new IpIndexFeed(new OutboundView(ctx.store), ctx.bus, {
      log: ctx.log,
      onUpdate: (u: IpIndexUpdate) => {
        const size = u.kind === 'snapshot' ? u.index.size : ipFeed.current()?.size;
        if (size) ipCount = size.hosts + size.ranges;
        if (u.kind === 'snapshot') sup.broadcast({ t: 'ips', index: u.index.toTransfer() }, false);
        else sup.broadcast({ t: 'ipDelta', delta: u.delta }, false);
      },
    });
    sup.replayWith('ips', () => {
      const ix = ipFeed.current();
      return ix ? { t: 'ips', index: ix.toTransfer() } : undefined;
    });
    await ipFeed.start();
    stops.push(() => ipFeed.stop());

    // Groups and local names: from the config, the opt-outs and the LAN devices; again when a device shows up.
    const optout = new OptoutRepo(ctx.store);
    const clients = ctx.get(clientsRef);
    const devices = async (): Promise<readonly LanDevice[]> => (clients ? await clients.devices().catch(() => []) : []);
    const sendClients = async () => {
      const d = await devices();
      sup.broadcast({ t: 'groups', table: buildGroupTable(c, layout, optout.list(), d) });
      sup.broadcast({ t: 'local', hosts: localHosts(d, c.local_domain), devices: clientTags(d) });
    };
    await sendClients();
    let clientTimer: NodeJS.Timeout | undefined;
    stops.push(
      ctx.bus.subscribe('clients.seen', () => {
        clientTimer ??= setTimeout(() => {
          clientTimer = undefined;
          void sendClients();
        }, 2000);
      }),
    );
    stops.push(() => clientTimer && clearTimeout(clientTimer));
    const clientsJob = ctx.scheduler.every('dns clients', 60_000, sendClients);
    stops.push(() => clientsJob.stop());

    // Query log upkeep: retention and size, in the daemon (the workers only append).
    const reader = c.query_log.mode === 'off' ? undefined : QueryLogService.open(queryLogPath(ctx.dataDir));
    const upkeep = reader
      ? startQueryLogMaintenance({ log: reader, scheduler: ctx.scheduler, logger: ctx.log, retentionMs: c.query_log.retention, maxRows: c.query_log.max_rows })
      : undefined;
    stops.push(async () => {
      await upkeep?.stop();
      await reader?.close();
    });

    // The firewall's block report names the domain a client resolved before it hit a listed address.
    const firewall = ctx.get(firewallRef);
    firewall?.setDomainSource((pairs) => sup.resolvedNames(pairs));
    stops.push(() => firewall?.setDomainSource(undefined));

    const status = (): DnsStatus => ({
      listen: sup.addresses(),
      workers: sup.workers(),
      totals: sup.totals(),
      qps: sup.qps(),
      domainIndex: { rules, builtAt },
      ipIndex: { entries: ipCount },
      answerCheck: c.answer_check,
      optout: optout.list(),
    });
    const optoutApi = {
      list: () => optout.list(),
      add: async (client: string) => {
        const added = optout.add(client);
        await sendClients();
        return added;
      },
      delete: async (client: string) => {
        const deleted = optout.delete(client);
        await sendClients();
        return deleted;
      },
    };
    const routes = dnsRoutes({
      status,
      lists: () => lists.status(),
      refresh: async (name) => {
        if (name !== undefined && !lists.lists.some((l) => l.name === name)) return undefined;
        return lists.refresh(name);
      },
      explain: (name, qtype, client) => sup.explain(name, qtype, client),
      flush: () => sup.broadcast({ t: 'flush' }, false),
      optout: optoutApi,
    });
    const logRoutes = reader ? queryLogRoutes({ log: reader, flush: () => sup.flushLogs() }) : undefined;
    ctx.log.info({ listen: sup.addresses(), workers: sup.pids().length, lists: lists.lists.length }, 'DNS resolver listening');
    return {
      routes: async (app) => {
        await app.register(routes);
        if (logRoutes) await app.register(logRoutes);
      },
      ...(kernel ? { kernel } : {}),
      provides: { domainsFor: (pairs) => sup.resolvedNames(pairs), optout: optoutApi, latency: () => sup.latency() },
      status: () => {
        const t = sup.totals();
        return { listen: sup.addresses().join(' '), workers: sup.pids().length, queries: t.queries, blocked: t.blocked, cached: t.cached, qps: sup.qps() };
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
