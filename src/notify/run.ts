import type { Contribution, ModuleContext } from '../modules/index.js';
import type { EventSource, GatehouseEvents } from '../events/index.js';
import { BlockEventRepo } from '../store/index.js';
import { feedsRef, type RunningFeed } from '../feeds/index.js';
import { crowdsecRef } from '../crowdsec/index.js';
import { firewallRef } from '../firewall/index.js';
import { VERSION } from '../version.js';
import { openChannel } from './channels/index.js';
import type { NotifyStatus, NotifyTestResult } from './contract.js';
import { deliverDue } from './delivery.js';
import { BurstWindow, bruteforceNotice, feedNotice, inboundBurstNotice, outboundNotice, p2pNotice, readLoginFailed, readP2pFlagged, restartNotice, staleNotice } from './detect.js';
import { renderDigest } from './digest.js';
import { Grouper } from './grouper.js';
import type { NotifyView } from './module.js';
import { NotifyQueue } from './queue.js';
import { notifyRoutes } from './routes.js';
import { nextAt, parseClock, yesterday } from './time-of-day.js';
import type { Channel, Message, Notice } from './types.js';

/** What notify offers other modules (the dashboard, the metrics): its counters. */
export interface NotifyApi {
  status(): NotifyStatus;
  /** Subscribe to hand-offs (channel, kind, ms from queue to hand-off). */
  onSent(fn: (channel: string, kind: string, ms: number) => void): void;
}

const DEFAULT_BURST_THRESHOLD = 100;
const DEFAULT_BRUTEFORCE_THRESHOLD = 10;
const RUNNING_KEY = 'running';
const DIGEST_KEY = 'digest_last_day';

/** The other modules' events notify reads that may not exist in this build (portal, shaper): read untyped. */
type LooseBus = EventSource<Record<string, unknown>>;

export async function startNotify(ctx: ModuleContext<NotifyView>): Promise<Contribution<NotifyApi>> {
  const cfg = ctx.config.notify!;
  const clock = ctx.scheduler.clock;
  const queue = new NotifyQueue(ctx.store);
  const blocks = new BlockEventRepo(ctx.store);
  const channels = new Map<string, Channel>(Object.entries(cfg.channels).map(([name, c]) => [name, openChannel(name, c)]));
  const allChannels = [...channels.keys()];
  const sentListeners: ((channel: string, kind: string, ms: number) => void)[] = [];
  const feedType = new Map(ctx.config.feeds.map((f) => [f.name, f.type]));

  queue.dropUnknown(allChannels, clock.now());
  // One delivery job per channel: a mail server timing out must not hold the webhook back.
  const delivery = new Map(
    [...channels.values()].map((ch) => [
      ch.name,
      ctx.scheduler.every(
        `notify delivery ${ch.name}`,
        1_000,
        async () => {
          await deliverDue(queue, ch, clock, {
            maxIntervalMs: cfg.retry.max_interval,
            giveUpAfterMs: cfg.retry.give_up_after,
            log: ctx.log,
            onSent: (c, k, ms) => sentListeners.forEach((f) => f(c, k, ms)),
          });
          // Sleeps until the next retry is due (an enqueue wakes it with runNow); a minute at most.
          const next = queue.nextDue(ch.name);
          return { nextRunInMs: next === undefined ? 60_000 : Math.min(60_000, Math.max(250, next - clock.now())) };
        },
        { firstRunInMs: 0 },
      ),
    ]),
  );
  const enqueue = (m: Message, names: readonly string[] | undefined): void => {
    const now = clock.now();
    for (const name of names ?? allChannels) {
      queue.enqueue(name, m, now);
      delivery.get(name)?.runNow().catch(() => {});
    }
  };
  const grouper = new Grouper(cfg.rules, clock, enqueue);
  const offer = (n: Notice): void => grouper.offer(n);
  const ruleOf = (kind: string) => cfg.rules.find((r) => r.kind === kind);
  const unsubs: (() => void)[] = [];

  // The daemon's start: clean when the previous run cleared the flag at its stop.
  const wasRunning = queue.state(RUNNING_KEY) !== undefined;
  queue.setState(RUNNING_KEY, String(clock.now()));
  offer(restartNotice(!wasRunning, VERSION, clock.now()));

  const burstRule = ruleOf('inbound_burst');
  const burst = new BurstWindow(burstRule?.window ?? 60_000, burstRule?.threshold ?? DEFAULT_BURST_THRESHOLD);
  const wantOutbound = ruleOf('outbound_block_new') !== undefined;
  const hits = ctx.bus.subscribeQueued(
    ['firewall.blocked'],
    (ev) => {
      const now = clock.now();
      const outbound = wantOutbound ? ev.payload.filter((h) => h.direction === 'outbound') : [];
      const first = queue.firstHits(outbound.map((h) => ({ client: h.clientIp, remote: h.remoteIp, at: h.seenAt })));
      outbound.forEach((h, i) => first[i] && offer(outboundNotice(h)));
      for (const h of ev.payload) {
        if (h.direction === 'inbound' && burstRule && burst.add(h.remoteIp, Math.max(1, h.packets), now)) {
          offer(inboundBurstNotice(burst, burstRule.window, now));
        }
      }
    },
    { name: 'notify', capacity: 4096 },
  );
  unsubs.push(() => hits.close());
  unsubs.push(
    ctx.bus.subscribe(
      'feeds.refused',
      (e: GatehouseEvents['feeds.refused']) => offer(feedNotice(e, feedType.get(e.feed) === 'crowdsec', clock.now())),
      'notify',
    ),
  );

  const loose = ctx.bus as unknown as LooseBus;
  const bfRule = ruleOf('portal_bruteforce');
  if (bfRule) {
    const windows = new Map<string, { w: BurstWindow; users: Set<string> }>();
    unsubs.push(
      loose.subscribe(
        'portal.login_failed',
        (p) => {
          const f = readLoginFailed(p);
          if (!f) return;
          const now = clock.now();
          let e = windows.get(f.client);
          if (!e) {
            if (windows.size > 10_000) windows.clear();
            e = { w: new BurstWindow(bfRule.window, bfRule.threshold ?? DEFAULT_BRUTEFORCE_THRESHOLD), users: new Set() };
            windows.set(f.client, e);
          }
          if (f.user && e.users.size < 50) e.users.add(f.user);
          if (e.w.add(f.client, 1, now)) offer(bruteforceNotice(f.client, e.w.count, [...e.users], bfRule.window, now));
        },
        'notify',
      ),
    );
  }
  if (ruleOf('p2p_flagged')) {
    unsubs.push(
      loose.subscribe(
        'shaper.p2p_flagged',
        (p) => {
          const f = readP2pFlagged(p);
          if (f) offer(p2pNotice(f.client, f.evidence, clock.now()));
        },
        'notify',
      ),
    );
  }

  const feeds = (): RunningFeed[] => [...(ctx.get(feedsRef)?.feeds ?? []), ...(ctx.get(crowdsecRef)?.feeds ?? [])];
  // Stale feeds: checked now and then; said once per stale episode.
  const stale = new Set<string>();
  const staleAfter = new Map(ctx.config.feeds.map((f) => [f.name, f.type === 'crowdsec' ? f.refresh * 10 : f.duration]));
  const staleJob = ruleOf('feed_problem')
    ? ctx.scheduler.every('notify stale feeds', 60_000, () => {
        const now = clock.now();
        for (const f of feeds()) {
          const s = f.status();
          const limit = staleAfter.get(s.name);
          const since = s.lastSuccessAt ?? undefined;
          const isStale = limit !== undefined && since !== undefined && now - since > limit;
          if (isStale && !stale.has(s.name)) {
            stale.add(s.name);
            offer(staleNotice(s.name, s.lastSuccessAt, now));
          } else if (!isStale) stale.delete(s.name);
        }
      })
    : undefined;

  // The digest: yesterday, at notify.digest local time, once per day even across restarts.
  const digestAt = cfg.digest ? parseClock(cfg.digest.at) : undefined;
  const sendDigest = (): void => {
    const now = clock.now();
    const y = yesterday(now);
    if (queue.state(DIGEST_KEY) === String(y.from)) return;
    const fw = ctx.get(firewallRef)?.status();
    const counts = queue.counts(now - 86_400_000);
    const attention = [
      ...(counts.givenUp > 0 ? [`${counts.givenUp} notification(s) could not be delivered (gatehouse notify status)`] : []),
      ...(counts.failing > 0 ? [`${counts.failing} notification(s) still failing to deliver`] : []),
      ...(fw?.lastError ? [`firewall: ${fw.lastError}`] : []),
      ...(fw && fw.refused > 0 ? [`firewall: nft refused ${fw.refused} element(s)`] : []),
      ...feeds()
        .map((f) => f.status())
        .filter((s) => s.warning)
        .map((s) => `feed ${s.name}: ${s.warning}`),
    ];
    const rows = blocks.list({ since: y.from, limit: 100_000 }).filter((b) => b.firstSeen < y.to);
    const m = renderDigest({ from: y.from, to: y.to, blocks: rows, feeds: feeds().map((f) => f.status()), attention }, now);
    queue.setState(DIGEST_KEY, String(y.from));
    enqueue(m, cfg.digest?.channels);
  };
  const digestJob =
    digestAt === undefined
      ? undefined
      : (() => {
          const now = clock.now();
          // A digest missed while the daemon was down goes out at the start, if today's time has passed (not on
          // the very first start: there was nothing to miss).
          const todays = nextAt(yesterday(now).to - 1, digestAt);
          const last = queue.state(DIGEST_KEY);
          const missed = now >= todays && last !== undefined && last !== String(yesterday(now).from);
          if (last === undefined) queue.setState(DIGEST_KEY, String(now >= todays ? yesterday(now).from : yesterday(yesterday(now).from).from));
          return ctx.scheduler.every(
            'notify digest',
            86_400_000,
            () => {
              sendDigest();
              return { nextRunInMs: nextAt(clock.now(), digestAt) - clock.now() };
            },
            { firstRunInMs: missed ? 0 : nextAt(now, digestAt) - now },
          );
        })();

  const purge = ctx.scheduler.every('notify purge', 3_600_000, () => {
    queue.purge(clock.now() - 30 * 86_400_000);
    queue.purgeSeen(clock.now() - 180 * 86_400_000);
  });

  const status = (): NotifyStatus => {
    const now = clock.now();
    const recent = queue.list({ limit: 20 });
    const dayStart = yesterday(now).to;
    return {
      channels: [...channels.values()].map((c) => {
        const last = recent.find((r) => r.channel === c.name && (r.sentAt !== null || r.lastError !== null));
        return { name: c.name, type: c.type, lastError: last?.sentAt === null ? last.lastError : null, lastSentAt: recent.find((r) => r.channel === c.name && r.sentAt !== null)?.sentAt ?? null };
      }),
      rules: cfg.rules.length,
      grouping: grouper.waiting,
      queue: (({ waiting, failing, givenUp, sentSince }) => ({ waiting, failing, givenUp, sentToday: sentSince }))(queue.counts(dayStart)),
      digest: cfg.digest ? { at: cfg.digest.at, nextAt: digestJob?.nextRunAt ?? null } : null,
      recent,
    };
  };
  const test = (name: string): Promise<NotifyTestResult> | undefined => {
    const ch = channels.get(name);
    if (!ch) return undefined;
    const started = Date.now();
    const m: Message = { kind: 'test', severity: 'info', subject: 'Test message', text: `A test message from Gatehouse ${VERSION} to channel ${name}.`, at: clock.now(), items: [] };
    return ch.send(m).then(
      () => ({ channel: name, ok: true, ms: Date.now() - started }),
      (e: Error) => ({ channel: name, ok: false, ms: Date.now() - started, error: e.message }),
    );
  };

  ctx.log.info({ channels: allChannels, rules: cfg.rules.length, digest: cfg.digest?.at ?? null }, 'notify: running');
  return {
    provides: { status, onSent: (fn) => void sentListeners.push(fn) },
    routes: notifyRoutes({ status, test }),
    status: () => {
      const s = status();
      return { channels: s.channels.length, rules: s.rules, waiting: s.queue.waiting, failing: s.queue.failing };
    },
    async stop(reason) {
      for (const u of unsubs) u();
      // What waits for its group window goes out now rather than being lost with the process.
      if (reason === 'stop') grouper.flushAll();
      grouper.stop();
      await Promise.allSettled([staleJob?.stop(), digestJob?.stop(), purge.stop()]);
      const jobs = [...delivery.values()];
      // A last pass for what was just queued, bounded: a server that hangs must not hold the daemon's stop.
      if (reason === 'stop') await Promise.race([Promise.allSettled(jobs.map((j) => j.runNow())), new Promise((r) => setTimeout(r, 3_000).unref())]);
      await Promise.allSettled(jobs.map((j) => j.stop()));
      for (const ch of channels.values()) ch.close?.();
      queue.setState(RUNNING_KEY, undefined);
    },
  };
}
