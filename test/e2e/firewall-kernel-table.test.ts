import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { nsExec, netnsPath, run } from '../../src/lab/ns.js';
import { canUseNetns, createTestNetns, type TestNetns } from './peers/netns.js';

const CHILD = resolve(import.meta.dirname, 'helpers', 'kernel-table-child.ts');

/**
 * The composed table with the real nft (in a scratch namespace): other modules' fragments land at their
 * hook points in one table next to the firewall's, and when a module is no longer there its chains and
 * sets go at the next reconcile while the firewall's elements stay and other tables are not touched.
 */
test('real nft: modules share the one table at their hook points, and a module that is gone leaves nothing behind', { skip: canUseNetns() ? undefined : 'needs root', timeout: 120_000 }, async () => {
  let ns: TestNetns | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'gh-n3k-'));
  try {
    ns = await createTestNetns('n3k');
    const name = ns.name;
    const step = async (s: string): Promise<{ ok: boolean; error?: string }> => {
      const r = await run('nsenter', [`--net=${netnsPath(name)}`, process.execPath, '--import', 'tsx', CHILD, s, dir], { timeoutMs: 60_000 });
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; error?: string };
    };
    const nft = async (...args: string[]): Promise<string> => (await nsExec(name, 'nft', args)).stdout;
    const rules = async (chain: string): Promise<string[]> =>
      (await nft('list', 'chain', 'inet', 'gatehouse', chain))
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length > 0 && !/^(table|chain|type|\}|policy)/.test(l));
    // Someone else's table with the same object names: never Gatehouse's to touch.
    await nsExec(name, 'nft', ['-f', '-'], { input: 'add table inet other\nadd chain inet other portal_gate\nadd set inet other dns_clients4 { type ipv4_addr; }\n' });

    const withModules = await step('modules');
    assert.ok(withModules.ok, withModules.error);
    // Rules in forward: before-reputation, then the firewall's jumps, then the portal gate.
    assert.deepEqual(await rules('forward'), [
      'udp dport 67 return',
      'iifname "lo" jump inbound',
      'oifname "lo" jump outbound',
      'iifname "lo" ip daddr 192.0.2.200 jump portal_gate',
    ]);
    assert.deepEqual(await rules('nat_prerouting'), ['ip saddr @dns_clients4 udp dport 53 redirect to :5353']);
    assert.deepEqual(await rules('mangle_postrouting'), ['meta mark set 0x00000001']);
    assert.match(await nft('list', 'set', 'inet', 'gatehouse', 'both_ip4'), /elements = \{ 192\.0\.2\.9 \}/);
    // A module filling its own set between reconciles (its own differences).
    await nsExec(name, 'nft', ['add', 'element', 'inet', 'gatehouse', 'dns_clients4', '{ 10.0.0.0/24 }']);

    const collide = await step('collide');
    assert.equal(collide.ok, false);
    assert.match(collide.error ?? '', /dns: set name "allow4" is already used by module firewall/);
    // The refused composition changed nothing in the kernel.
    assert.deepEqual(await rules('nat_prerouting'), ['ip saddr @dns_clients4 udp dport 53 redirect to :5353']);

    const alone = await step('firewall-only');
    assert.ok(alone.ok, alone.error);
    const table = await nft('-t', 'list', 'table', 'inet', 'gatehouse');
    for (const gone of ['nat_prerouting', 'mangle_postrouting', 'portal_gate', 'dns_clients4', 'portal_users']) {
      assert.ok(!table.includes(gone), `${gone} is still in the table:\n${table}`);
    }
    assert.deepEqual(await rules('forward'), ['iifname "lo" jump inbound', 'oifname "lo" jump outbound']);
    assert.match(await nft('list', 'set', 'inet', 'gatehouse', 'both_ip4'), /elements = \{ 192\.0\.2\.9 \}/);
    const other = await nft('list', 'table', 'inet', 'other');
    assert.match(other, /chain portal_gate/);
    assert.match(other, /set dns_clients4/);
  } finally {
    await ns?.remove();
    await rm(dir, { recursive: true, force: true });
  }
});
