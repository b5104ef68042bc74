import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { nsExec, netnsPath, run } from '../../src/lab/ns.js';
import { canUseNetns, createTestNetns, type TestNetns } from './peers/netns.js';

const CHILD = resolve(import.meta.dirname, 'helpers', 'runtime-child.ts');

/**
 * A module's runtime objects (a portal session's allow element and its named quota) live through a
 * reconcile of the whole table with the real nft, read back by name, and go when the module removes them.
 */
test('real nft: runtime elements and quotas survive a reconcile and are removed on request', { skip: canUseNetns() ? undefined : 'needs root', timeout: 120_000 }, async () => {
  let ns: TestNetns | undefined;
  try {
    ns = await createTestNetns('rtk');
    const r = await run('nsenter', [`--net=${netnsPath(ns.name)}`, process.execPath, '--import', 'tsx', CHILD], { timeoutMs: 60_000 });
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(out.ok, true, String(out.error));
    assert.deepEqual((out.auth as { key: string[] }[]).map((e) => e.key), [['02:00:00:00:00:01', '10.9.0.7']]);
    assert.deepEqual((out.qmap as { key: string[]; value: string }[]).map((e) => [e.key, e.value]), [[['10.9.0.7'], 'portal_q1d']]);
    const down = out.down as { key: string[]; counter?: { bytes: number } }[];
    assert.equal(down[0]?.counter?.bytes, 0, 'a counter set element carries its counter');
    assert.deepEqual(out.qmapAfter, []);
    const quotas = (await nsExec(ns.name, 'nft', ['-t', 'list', 'ruleset', 'inet'])).stdout;
    assert.ok(!quotas.includes('portal_q1d'), 'the removed runtime quota is gone');
  } finally {
    await ns?.remove();
  }
});
