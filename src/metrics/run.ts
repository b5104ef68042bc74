import Fastify from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Contribution, ModuleContext } from '../modules/index.js';
import { parseListenAddress } from '../config/index.js';
import { firewallRef, launch } from '../firewall/index.js';
import { feedsRef, type RunningFeed } from '../feeds/index.js';
import { crowdsecRef } from '../crowdsec/index.js';
import { DNS_LATENCY_BOUNDS, dnsRef, latencyHistograms } from '../dns/index.js';
import { notifyRef } from '../notify/index.js';
import { shaperRef } from '../shaper/index.js';
import { LapiCredentials } from '../store/index.js';
import type { MetricsApi, MetricsView } from './module.js';
import { metricsPlugin } from './plugin.js';
import { elementCount, setNames, SET_NAME } from './kernel-sets.js';
import { decisionCounts } from './store-reads.js';
import { registerSummedHistogram } from './summed-histogram.js';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * `read` at most once per scrape, for gauges that share one source: prom-client's `registry.metrics()` starts
 * every metric's collect in one synchronous pass, so a value kept until the next microtask is shared by that
 * scrape's collects and by nothing after it.
 */
function oncePerScrape<T>(read: () => T): () => T {
  let held: { readonly v: T } | undefined;
  return () => {
    if (!held) {
      held = { v: read() };
      queueMicrotask(() => (held = undefined));
    }
    return held.v;
  };
}

function processMetrics(registry: Registry): void {
  const startedAt = Date.now() / 1000;
  new Gauge({ name: 'gatehouse_process_start_time_seconds', help: 'When the daemon started (unix seconds)', registers: [registry], collect() { this.set(startedAt); } });
  new Gauge({ name: 'gatehouse_process_resident_memory_bytes', help: 'Resident memory of the daemon', registers: [registry], collect() { this.set(process.memoryUsage.rss()); } });
  new Gauge({ name: 'gatehouse_process_heap_used_bytes', help: 'V8 heap in use', registers: [registry], collect() { this.set(process.memoryUsage().heapUsed); } });
  let lastCpu = 0;
  new Counter({
    name: 'gatehouse_process_cpu_seconds_total',
    help: 'CPU time of the daemon process (user + system)',
    registers: [registry],
    collect() {
      const u = process.cpuUsage();
      const total = (u.user + u.system) / 1e6;
      if (total > lastCpu) this.inc(total - lastCpu);
      lastCpu = total;
    },
  });
}

export async function startMetrics(ctx: ModuleContext<MetricsView>): Promise<Contribution<MetricsApi>> {
  const cfg = ctx.config.metrics!;
  const registry = new Registry();
  // prom-client's default set names gauges *_total, which promtool's lint refuses: the few that matter, by hand.
  processMetrics(registry);
  const clock = ctx.scheduler.clock;
  const firewall = ctx.get(firewallRef);
  const feeds = (): RunningFeed[] => [...(ctx.get(feedsRef)?.feeds ?? []), ...(ctx.get(crowdsecRef)?.feeds ?? [])];
  const unsubs: (() => void)[] = [];

  // ---------------------------------------------------------------- blocks (bus)
  const blocks = new Counter({ name: 'gatehouse_blocks_total', help: 'Blocked (or, in monitor mode, would-be-blocked) connection attempts: packets that hit a block rule', labelNames: ['direction', 'mode'], registers: [registry] });
  const blockBytes = new Counter({ name: 'gatehouse_blocked_bytes_total', help: 'Bytes of blocked attempts', labelNames: ['direction', 'mode'], registers: [registry] });
  for (const d of ['inbound', 'outbound']) for (const m of ['blocked', 'monitored']) blocks.inc({ direction: d, mode: m }, 0);
  const hits = ctx.bus.subscribeQueued(
    ['firewall.blocked'],
    (ev) => {
      for (const h of ev.payload) {
        blocks.inc({ direction: h.direction, mode: h.mode }, h.packets);
        blockBytes.inc({ direction: h.direction, mode: h.mode }, h.bytes);
      }
    },
    { name: 'metrics', capacity: 4096 },
  );
  unsubs.push(() => hits.close());

  // ---------------------------------------------------------------- decisions (store, cached)
  let cached: { at: number; rows: ReturnType<typeof decisionCounts> } | undefined;
  let decisionsDirty = false;
  let setsDirty = false;
  unsubs.push(
    ctx.bus.subscribe('decisions.changed', () => {
      decisionsDirty = true;
      setsDirty = true;
    }, 'metrics counts'),
  );
  const counts = (): ReturnType<typeof decisionCounts> => {
    const now = clock.now();
    // A GROUP BY over a million rows costs a few hundred ms: at most every 5 s after a change, else every 60 s.
    if (!cached || (decisionsDirty && now - cached.at > 5_000) || now - cached.at > 60_000) {
      cached = { at: now, rows: decisionCounts(ctx.store, now) };
      decisionsDirty = false;
    }
    return cached.rows;
  };
  new Gauge({
    name: 'gatehouse_decisions',
    help: 'Active decisions by origin and direction (recounted at most every 5 s after a change)',
    labelNames: ['origin', 'direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of counts().decisions) this.set({ origin: r.origin, direction: r.direction }, r.count);
    },
  });
  new Gauge({
    name: 'gatehouse_allow_entries',
    help: 'Active allow entries',
    registers: [registry],
    collect() {
      this.set(counts().allow);
    },
  });

  // ---------------------------------------------------------------- firewall
  let listKernelSets: ((this: Gauge) => Promise<void>) | undefined;
  new Gauge({
    name: 'gatehouse_kernel_set_elements',
    help: 'Elements in each set of the nftables table (read at scrape: at most every 5 s after a change, else every 60 s; not above metrics.kernel_sets_max_decisions decisions)',
    labelNames: ['set'],
    registers: [registry],
    async collect() {
      await listKernelSets?.call(this);
    },
  });
  const enforceLatency = new Histogram({
    name: 'gatehouse_enforcer_latency_seconds',
    help: 'From a committed decision change to the kernel holding it',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  if (firewall) {
    let lastTx = 0;
    new Counter({
      name: 'gatehouse_enforcer_transactions_total',
      help: 'nft transactions the enforcer ran since the start',
      registers: [registry],
      collect() {
        const t = firewall.status().transactions;
        if (t > lastTx) this.inc(t - lastTx);
        lastTx = Math.max(lastTx, t);
      },
    });
    new Gauge({ name: 'gatehouse_enforcer_refused_elements', help: 'Elements nft refused, left out so the rest is enforced', registers: [registry], collect() { this.set(firewall.status().refused); } });
    new Gauge({ name: 'gatehouse_enforcer_failing', help: '1 when the last nft transaction failed', registers: [registry], collect() { this.set(firewall.status().lastError ? 1 : 0); } });
    // One measurement at a time: a burst of changes is one wait for the kernel.
    let measuring = false;
    unsubs.push(
      ctx.bus.subscribe(
        'decisions.changed',
        () => {
          if (measuring) return;
          measuring = true;
          const t0 = performance.now();
          firewall.enforced().then(
            () => {
              enforceLatency.observe((performance.now() - t0) / 1000);
              measuring = false;
            },
            () => void (measuring = false),
          );
        },
        'metrics',
      ),
    );
    const table = firewall.status().table;
    let listedAt = -Infinity;
    const sizes = new Map<string, number>();
    listKernelSets = async function (this: Gauge) {
      const now = clock.now();
      if ((now - listedAt >= 60_000 || (setsDirty && now - listedAt >= 5_000)) && counts().total <= cfg.kernel_sets_max_decisions) {
        listedAt = now;
        setsDirty = false;
        const list = await launch('nft', ['-t', '-j', 'list', 'sets', 'table', 'inet', table]);
        if (list.code === 0) {
          sizes.clear();
          for (const name of setNames(JSON.parse(list.stdout), table)) {
            if (!SET_NAME.test(name)) continue;
            const r = await launch('nft', ['-j', 'list', 'set', 'inet', table, name]);
            if (r.code === 0) sizes.set(name, elementCount(JSON.parse(r.stdout)));
          }
        }
      }
      this.reset();
      for (const [name, n] of sizes) this.set({ set: name }, n);
    };
  }

  // ---------------------------------------------------------------- feeds
  const refreshes = new Counter({ name: 'gatehouse_feed_refreshes_total', help: 'Feed refreshes by result (applied, not_modified, refused, failed)', labelNames: ['feed', 'outcome'], registers: [registry] });
  for (const f of feeds()) for (const o of ['applied', 'not_modified', 'refused', 'failed']) refreshes.inc({ feed: f.name, outcome: o }, 0);
  unsubs.push(ctx.bus.subscribe('feeds.refreshed', (e) => refreshes.inc({ feed: e.feed, outcome: e.outcome }), 'metrics'));
  unsubs.push(ctx.bus.subscribe('feeds.refused', (e) => refreshes.inc({ feed: e.feed, outcome: e.outcome }), 'metrics'));
  new Gauge({
    name: 'gatehouse_feed_entries',
    help: 'Entries each feed enforces',
    labelNames: ['feed'],
    registers: [registry],
    collect() {
      for (const f of feeds()) this.set({ feed: f.name }, f.status().entries);
    },
  });
  new Gauge({
    name: 'gatehouse_feed_last_success_age_seconds',
    help: 'Seconds since each feed last refreshed successfully (absent before the first success)',
    labelNames: ['feed'],
    registers: [registry],
    collect() {
      this.reset();
      const now = clock.now();
      for (const f of feeds()) {
        const s = f.status();
        if (s.lastSuccessAt !== null) this.set({ feed: f.name }, Math.max(0, (now - s.lastSuccessAt) / 1000));
      }
    },
  });
  new Gauge({
    name: 'gatehouse_feed_warning',
    help: '1 when the feed\'s last refresh was refused or failed',
    labelNames: ['feed'],
    registers: [registry],
    collect() {
      for (const f of feeds()) this.set({ feed: f.name }, f.status().warning ? 1 : 0);
    },
  });

  // ---------------------------------------------------------------- CrowdSec LAPI
  const crowdsec = ctx.get(crowdsecRef);
  if (crowdsec?.lapiAddress) {
    const requests = new Counter({
      name: 'gatehouse_lapi_requests_total',
      help: 'Requests our LAPI answered, by route template (unknown paths: other), method and status code; bouncer pulls are route /v1/decisions/stream',
      labelNames: ['route', 'method', 'code'],
      registers: [registry],
    });
    crowdsec.onLapiRequest((l) => requests.inc({ route: l.route, method: l.method, code: l.code }));
    const creds = new LapiCredentials(ctx.store);
    const bouncers = oncePerScrape(() => creds.listBouncers());
    new Gauge({
      name: 'gatehouse_lapi_bouncer_last_pull_timestamp_seconds',
      help: 'When each bouncer last pulled the decision stream (unix seconds)',
      labelNames: ['bouncer'],
      registers: [registry],
      collect() {
        this.reset();
        for (const b of bouncers()) if (b.lastPull !== null) this.set({ bouncer: b.name }, b.lastPull / 1000);
      },
    });
    new Gauge({ name: 'gatehouse_lapi_bouncers', help: 'Registered bouncers', registers: [registry], collect() { this.set(bouncers().length); } });
    new Gauge({ name: 'gatehouse_lapi_machines', help: 'Registered watchers (machines)', registers: [registry], collect() { this.set(creds.listMachines().length); } });
  }

  // ---------------------------------------------------------------- the other modules' own, when they run
  const statusOf = (name: string): Readonly<Record<string, unknown>> | undefined => ctx.running().find((m) => m.name === name)?.status?.();
  if (ctx.running().some((m) => m.name === 'dns')) {
    const dnsStatus = oncePerScrape(() => statusOf('dns'));
    let last: Record<string, number> = {};
    new Counter({
      name: 'gatehouse_dns_queries_total',
      help: 'DNS queries answered, by result (cached, blocked, other)',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        const s = dnsStatus() ?? {};
        const queries = num(s.queries) ?? 0;
        const now: Record<string, number> = { cached: num(s.cached) ?? 0, blocked: num(s.blocked) ?? 0 };
        now.other = Math.max(0, queries - now.cached! - now.blocked!);
        for (const [k, v] of Object.entries(now)) {
          const d = v - (last[k] ?? 0);
          if (d > 0) this.inc({ result: k }, d);
        }
        last = now;
      },
    });
    const dns = ctx.get(dnsRef);
    if (dns) {
      registerSummedHistogram(registry, {
        name: 'gatehouse_dns_query_duration_seconds',
        help: 'Time from a query reaching a DNS worker to its answer, by result (blocked, cached, forwarded, local, servfail); as of the workers\' last report (each second)',
        bounds: DNS_LATENCY_BOUNDS,
        read: () => latencyHistograms(dns.latency()).map((h) => ({ labels: { result: h.result }, cumulative: h.cumulative, count: h.count, sum: h.sumSeconds })),
      });
    }
    new Gauge({ name: 'gatehouse_dns_queries_per_second', help: 'DNS queries per second over the last few seconds', registers: [registry], collect() { this.set(num(dnsStatus()?.qps) ?? 0); } });
  }
  if (ctx.running().some((m) => m.name === 'portal')) {
    new Gauge({ name: 'gatehouse_portal_sessions', help: 'Captive portal sessions active', registers: [registry], collect() { this.set(num(statusOf('portal')?.sessions) ?? 0); } });
  }
  const shaper = ctx.get(shaperRef);
  if (shaper) {
    const bytes = new Gauge({ name: 'gatehouse_shaper_client_bytes_today', help: 'Bytes each shaped client moved today', labelNames: ['client', 'direction'], registers: [registry] });
    const rate = new Gauge({ name: 'gatehouse_shaper_client_rate_bps', help: 'Current rate of each shaped client, bits/s', labelNames: ['client', 'direction'], registers: [registry] });
    new Gauge({
      name: 'gatehouse_shaper_clients',
      help: 'Clients the shaper gives a share',
      registers: [registry],
      async collect() {
        const s = await shaper.status();
        bytes.reset();
        rate.reset();
        for (const c of s.clients) {
          bytes.set({ client: c.key, direction: 'down' }, c.bytesToday.down);
          bytes.set({ client: c.key, direction: 'up' }, c.bytesToday.up);
          rate.set({ client: c.key, direction: 'down' }, c.downBps);
          rate.set({ client: c.key, direction: 'up' }, c.upBps);
        }
        this.set(s.clients.length);
      },
    });
  }
  const notify = ctx.get(notifyRef);
  if (notify) {
    const sent = new Counter({ name: 'gatehouse_notify_sent_total', help: 'Notifications handed to a channel', labelNames: ['channel', 'kind'], registers: [registry] });
    const handoff = new Histogram({ name: 'gatehouse_notify_handoff_seconds', help: 'From queueing a notification to its channel accepting it', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600], registers: [registry] });
    notify.onSent((channel, kind, ms) => {
      sent.inc({ channel, kind });
      handoff.observe(ms / 1000);
    });
    new Gauge({
      name: 'gatehouse_notify_queue',
      help: 'Notifications waiting (state=waiting), failing at least once (failing), or given up (given_up)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const q = notify.status().queue;
        this.set({ state: 'waiting' }, q.waiting);
        this.set({ state: 'failing' }, q.failing);
        this.set({ state: 'given_up' }, q.givenUp);
      },
    });
  }

  const plugin = metricsPlugin(registry, { tokenSha256: cfg.token_sha256 });
  let server: ReturnType<typeof Fastify> | undefined;
  if (cfg.listen) {
    const a = parseListenAddress(cfg.listen);
    server = Fastify({ logger: false, bodyLimit: 1024, connectionTimeout: 30_000, requestTimeout: 30_000 });
    await server.register(plugin);
    await server.listen({ host: a.host, port: a.port });
    ctx.log.info({ listen: cfg.listen }, 'metrics listening');
  }
  return {
    provides: { registry, plugin },
    status: () => ({ listen: cfg.listen ?? null, metrics: registry.getMetricsAsArray().length }),
    async stop() {
      for (const u of unsubs) u();
      await server?.close();
    },
  };
}
