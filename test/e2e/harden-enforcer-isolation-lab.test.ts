import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { nsExec, netnsPath, run } from '../../src/lab/ns.js';
import { canUseNetns, createTestNetns, type TestNetns } from './peers/netns.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The enforcer with the real `nft` (systemNft, run inside a scratch namespace): the script it renders is
 * edited on its way to nft so that three elements carry timeouts real nft 1.0.6 refuses, one in its parser
 * ("value too large") and two in the kernel ("Numerical result out of range"). Everything else must be
 * enforced, at start and for later changes, and the refused ones reported.
 */
const child = (dataDir: string): string => `
import { openDecisionStore } from '${ROOT}/src/decisions/store-service.ts';
import { EnforcementView } from '${ROOT}/src/decisions/enforcement-view.ts';
import { Enforcer } from '${ROOT}/src/firewall/enforcer.ts';
import { systemNft } from '${ROOT}/src/firewall/nft.ts';

const poison = (s) => s
  .replace(/192\\.0\\.2\\.66 timeout \\d+s/g, '192.0.2.66 timeout 100000000s')
  .replace(/192\\.0\\.2\\.67 timeout \\d+s/g, '192.0.2.67 timeout 1000000d')
  .replace(/192\\.0\\.2\\.68 timeout \\d+s/g, '192.0.2.68 timeout 1000000d');
const nft = { ...systemNft, apply: (s) => systemNft.apply(poison(s)), check: (s) => systemNft.check(poison(s)) };
const store = openDecisionStore(${JSON.stringify(dataDir)});
const ds = [];
for (let i = 0; i < 3000; i++) ds.push({ value: '10.9.' + (i >> 8) + '.' + (i & 255), origin: 'feed:x', durationSec: 3600 });
ds.push({ value: '192.0.2.66', origin: 'crowdsec', durationSec: 3600 });
ds.push({ value: '192.0.2.67', origin: 'crowdsec', durationSec: 3600 });
ds.push({ value: '198.51.100.0/24', origin: 'manual' });
store.service.addMany(ds);
const quiet = { info: () => undefined, error: () => undefined };
const opts = { table: 'gatehouse', lan: ['lo'], wan: ['lo'], inbound: 'enforce', outbound: 'enforce', hitTimeoutSec: 60, hitSetSize: 65536 };
const e = new Enforcer(new EnforcementView(store.db), nft, opts, quiet);
await e.reconcile();
const atStart = e.status;
store.events.subscribe('decisions.changed', (c) => e.handle(c));
store.service.add({ value: '192.0.2.68', origin: 'lapi:w1', durationSec: 3600 });
await e.settled();
const t0 = Date.now();
store.service.add({ value: '192.0.2.7', origin: 'manual' });
await e.settled();
const ordinaryMs = Date.now() - t0;
await e.stop();
store.close();
console.log(JSON.stringify({ atStart, after: e.status, ordinaryMs }));
`;

test('real nft: elements nft refuses are found with nft -c, left out and reported; the rest is enforced', { skip: canUseNetns() ? undefined : 'needs root', timeout: 120_000 }, async () => {
  let ns: TestNetns | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'gh-h1b-'));
  try {
    ns = await createTestNetns('h1b');
    const r = await run('nsenter', [`--net=${netnsPath(ns.name)}`, process.execPath, '--import', 'tsx', '--input-type=module', '-e', child(dir)], {
      timeoutMs: 90_000,
    }).catch((e: Error & { stderr?: string }) => assert.fail(`child failed: ${e.message}\n${e.stderr ?? ''}`));
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      atStart: { refused: number; refusedSamples: string[] };
      after: { refused: number; refusedSamples: string[]; lastError?: string };
      ordinaryMs: number;
    };
    assert.equal(out.atStart.refused, 2);
    assert.deepEqual(out.atStart.refusedSamples.sort(), ['192.0.2.66', '192.0.2.67']);
    assert.ok(out.after.refusedSamples.includes('192.0.2.68'), JSON.stringify(out.after));
    assert.equal(out.after.lastError, undefined);
    assert.ok(out.ordinaryMs < 1000, `an ordinary decision after a refused one took ${out.ordinaryMs} ms`);

    const list = async (set: string): Promise<string[]> => {
      const doc = JSON.parse((await nsExec(ns!.name, 'nft', ['-j', 'list', 'set', 'inet', 'gatehouse', set])).stdout) as {
        nftables: { set?: { elem?: (string | { elem?: { val: string } } | { prefix: { addr: string; len: number } })[] } }[];
      };
      const vals: string[] = [];
      for (const item of doc.nftables) {
        for (const e of item.set?.elem ?? []) {
          if (typeof e === 'string') vals.push(e);
          else if ('elem' in e && e.elem) vals.push(e.elem.val);
          else if ('prefix' in e) vals.push(`${e.prefix.addr}/${e.prefix.len}`);
        }
      }
      return vals;
    };
    const hosts = await list('both_ip4');
    assert.equal(hosts.filter((v) => v.startsWith('10.9.')).length, 3000);
    assert.ok(hosts.includes('192.0.2.7'));
    for (const bad of ['192.0.2.66', '192.0.2.67', '192.0.2.68']) assert.ok(!hosts.includes(bad), bad);
    assert.deepEqual(await list('in_net4'), ['198.51.100.0/24']);
  } finally {
    await ns?.remove();
    await rm(dir, { recursive: true, force: true });
  }
});
