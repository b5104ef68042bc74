import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { openDecisionStore } from '../../src/decisions/index.js';
import { ResolvedNames } from '../../src/dns/index.js';
import { HitCollector, type DomainPair, type DomainSource } from '../../src/firewall/index.js';
import { HitSets } from './helpers/hit-sets.js';
import { BlockEventRepo, type BlockHit } from '../../src/store/index.js';

const T0 = 1_800_000_000_000;

function setup(t: TestContext, domainWaitMs?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'i4-collector-'));
  const store = openDecisionStore(dir, { clock: () => T0 });
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  store.service.add({ value: '203.0.113.0/24', origin: 'feed:phishing_db', scenario: 'list' });
  const nft = new HitSets();
  const published: (readonly BlockHit[])[] = [];
  const warnings: string[] = [];
  const repo = new BlockEventRepo(store.db);
  const collector = new HitCollector(
    store.db,
    repo,
    store.service,
    nft,
    {
      table: 'gatehouse',
      hitTimeoutSec: 3600,
      mode: () => 'enforce',
      clients: { whoIs: async () => ({ mac: null, name: null }) },
      events: { publish: (_name: string, hits: unknown) => void published.push(hits as readonly BlockHit[]) } as never,
      log: { warn: (o: object, m: string) => void warnings.push(`${m} ${JSON.stringify(o)}`) },
      domainWaitMs,
    },
    () => T0,
  );
  return { nft, repo, collector, published, warnings };
}

describe('HitCollector with a domain source', () => {
  it('records the domain the client looked up, in the block report and in firewall.blocked', async (t) => {
    const { nft, repo, collector, published } = setup(t);
    const names = new ResolvedNames();
    names.note('192.168.1.10', 'login-paypal.example', ['203.0.113.66'], 60, T0);
    const asked: (readonly DomainPair[])[] = [];
    collector.setDomainSource(async (pairs) => {
      asked.push(pairs);
      return names.lookupMany(pairs, T0);
    });
    nft.hit('hit_out4', '192.168.1.10', '203.0.113.66', 'tcp', 443, 2);
    nft.hit('hit_out4', '192.168.1.10', '203.0.113.66', 'tcp', 80);
    nft.hit('hit_out4', '192.168.1.11', '203.0.113.66', 'tcp', 443);
    nft.hit('hit_in4', '192.168.1.10', '203.0.113.66', 'tcp', 22);
    await collector.collect();
    const byKey = new Map(repo.list().map((e) => [`${e.direction} ${e.clientIp} ${e.port}`, e.domain]));
    assert.deepEqual(Object.fromEntries(byKey), {
      'outbound 192.168.1.10 443': 'login-paypal.example',
      'outbound 192.168.1.10 80': 'login-paypal.example',
      'outbound 192.168.1.11 443': null,
      'inbound 192.168.1.10 22': null,
    });
    assert.deepEqual(asked, [[{ client: '192.168.1.10', remote: '203.0.113.66' }, { client: '192.168.1.11', remote: '203.0.113.66' }]], 'one question per pair, outbound only');
    assert.equal(published[0]!.find((h) => h.port === 443 && h.clientIp === '192.168.1.10')?.domain, 'login-paypal.example');
    assert.deepEqual(repo.domainsFor('203.0.113.66').map((d) => [d.domain, d.clients]), [['login-paypal.example', ['192.168.1.10']]]);
  });

  it('keeps the last known domain when a later hit comes without one, and takes a newer one', async (t) => {
    const { nft, repo, collector } = setup(t);
    let answer: string | undefined = 'first.example';
    collector.setDomainSource(async (pairs) => pairs.map(() => answer));
    nft.hit('hit_out4', '192.168.1.10', '203.0.113.66', 'tcp', 443);
    await collector.collect();
    answer = undefined;
    nft.hit('hit_out4', '192.168.1.10', '203.0.113.66', 'tcp', 443);
    await collector.collect();
    assert.deepEqual([repo.list()[0]!.count, repo.list()[0]!.domain], [2, 'first.example']);
    answer = 'second.example';
    nft.hit('hit_out4', '192.168.1.10', '203.0.113.66', 'tcp', 443);
    await collector.collect();
    assert.equal(repo.list()[0]!.domain, 'second.example');
  });

  it('records hits without domains when the source fails, answers nonsense, or is too slow', async (t) => {
    const { nft, repo, collector, warnings } = setup(t, 50);
    const sources: [string, DomainSource][] = [
      ['throws', async () => { throw new Error('worker gone'); }],
      ['wrong length', async () => ['a.example', 'b.example']],
      ['not a name', async (pairs) => pairs.map(() => 'x\n<script>')],
      ['never answers', () => new Promise(() => undefined)],
    ];
    let port = 1;
    for (const [why, source] of sources) {
      collector.setDomainSource(source);
      nft.hit('hit_out4', '192.168.1.10', '203.0.113.66', 'tcp', port++);
      const hits = await collector.collect();
      assert.equal(hits.length, 1, `${why}: the hit is still recorded`);
      assert.equal(hits[0]!.domain, undefined, why);
    }
    assert.equal(repo.list().length, 4);
    assert.ok(repo.list().every((e) => e.domain === null));
    assert.equal(collector.domainLookupFailures, 3, 'a name refused for its characters is not a failure of the source');
    assert.ok(warnings.some((w) => w.includes('worker gone')) && warnings.some((w) => w.includes('no answer within 50 ms')), warnings.join('\n'));
  });

  it('asks nothing when no source is registered or after it is taken away', async (t) => {
    const { nft, repo, collector } = setup(t);
    let calls = 0;
    collector.setDomainSource(async (pairs) => {
      calls++;
      return pairs.map(() => 'x.example');
    });
    collector.setDomainSource(undefined);
    nft.hit('hit_out4', '192.168.1.10', '203.0.113.66', 'tcp', 443);
    await collector.collect();
    assert.equal(calls, 0);
    assert.equal(repo.list()[0]!.domain, null);
  });
});
