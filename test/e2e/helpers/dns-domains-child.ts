/**
 * Runs inside a scratch namespace for dns-ipindex-kernel.test.ts: the real enforcer and hit collector with
 * the real nft, the IP index built from the same store, and a resolver's memory as the domain source.
 * Connects to listed and allowed addresses, then prints what the kernel did, what the index says and what
 * the block report recorded, as JSON.
 */
import { connect } from 'node:net';
import { EnforcementView, OutboundView, openDecisionStore } from '../../../src/decisions/index.js';
import { IpIndexFeed, ResolvedNames, type IpIndex } from '../../../src/dns/index.js';
import { Enforcer, HitCollector } from '../../../src/firewall/index.js';
import { systemNft } from '../../../src/firewall/nft.js';
import { BlockEventRepo, type BlockHit } from '../../../src/store/index.js';

const [dataDir, client, targetsJson] = process.argv.slice(2) as [string, string, string];
const targets = JSON.parse(targetsJson) as string[];

/** 'refused' = the kernel answered with a reset at once (the outbound reject); 'no answer' = nothing came back. */
function attempt(host: string): Promise<'refused' | 'no answer' | 'connected'> {
  return new Promise((done) => {
    const s = connect({ host, port: 443, localAddress: host.includes(':') ? undefined : client });
    const t = setTimeout(() => {
      s.destroy();
      done('no answer');
    }, 700);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      done('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      done(e.code === 'ECONNREFUSED' ? 'refused' : 'no answer');
    });
  });
}

const store = openDecisionStore(dataDir);
const quiet = { info: () => undefined, error: () => undefined, warn: () => undefined };
const opts = { table: 'gatehouse', lan: ['lo'], wan: ['lo'], inbound: 'enforce', outbound: 'enforce', hitTimeoutSec: 60, hitSetSize: 65536 } as const;
const enforcer = new Enforcer(new EnforcementView(store.db), systemNft, opts, quiet);
try {
  store.service.add({ value: '203.0.113.0/24', origin: 'feed:phishing_db', scenario: 'list', direction: 'outbound' });
  store.service.add({ value: '203.0.113.66', origin: 'manual', reason: 'c2 server', direction: 'both' });
  store.service.add({ value: '198.51.100.70', origin: 'manual', direction: 'inbound' });
  store.service.addAllow({ value: '203.0.113.128/25', reason: 'our CDN' });
  await enforcer.reconcile();

  let index: IpIndex | undefined;
  const feed = new IpIndexFeed(new OutboundView(store.db), store.events, { onUpdate: (u) => void (u.kind === 'snapshot' ? (index = u.index) : index!.apply(u.delta)) });
  await feed.start();

  const names = new ResolvedNames();
  const now = Date.now();
  names.note(client, 'login-paypal.example', ['203.0.113.66'], 60, now);
  names.note(client, 'phish-kit.example', ['203.0.113.5'], 60, now);
  const blocks = new BlockEventRepo(store.db);
  const published: BlockHit[] = [];
  const collector = new HitCollector(store.db, blocks, store.service, systemNft, {
    table: 'gatehouse',
    hitTimeoutSec: 60,
    mode: () => 'enforce',
    clients: { whoIs: async () => ({ mac: null, name: null }) },
    events: { publish: (_n: string, hits: unknown) => void published.push(...(hits as BlockHit[])) } as never,
    log: quiet,
  });
  collector.setDomainSource(async (pairs) => names.lookupMany(pairs, Date.now()));

  const results: Record<string, { kernel: string; index: string | null }> = {};
  for (const ip of targets) {
    const kernel = await attempt(ip);
    const hit = index!.lookup(ip);
    results[ip] = { kernel, index: hit ? `${hit.target} ${hit.origin}` : null };
  }
  await collector.collect();
  feed.stop();
  console.log(
    JSON.stringify({
      ok: true,
      results,
      blocks: blocks.list().map((b) => ({ client: b.clientIp, remote: b.remoteIp, domain: b.domain, direction: b.direction })),
      published: published.map((h) => ({ remote: h.remoteIp, domain: h.domain ?? null })),
      lookedUpAs: blocks.domainsFor('203.0.113.66'),
    }),
  );
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: (err as Error).stack }));
} finally {
  await enforcer.stop();
  store.close();
}
