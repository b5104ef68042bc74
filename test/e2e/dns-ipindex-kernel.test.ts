/**
 * The DNS filter's IP index and the firewall agree, and the block report names the domain, with the real
 * nft in a scratch namespace (named i4-…, removed afterwards even on failure): connections to listed
 * addresses get the firewall's reset exactly where the index reports a hit (allow entries and inbound-only
 * decisions neither), and the hits the collector reads from the kernel carry the name the client resolved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ipIn, netnsPath, run } from '../../src/lab/ns.js';
import { canUseNetns, createTestNetns, type TestNetns } from './peers/netns.js';

const CHILD = resolve(import.meta.dirname, 'helpers', 'dns-domains-child.ts');
const CLIENT = '192.168.77.10';

test('real nft: index hits match the kernel\'s blocks, and the block report names the looked-up domain', { skip: canUseNetns() ? undefined : 'needs root', timeout: 180_000 }, async () => {
  let ns: TestNetns | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'i4-kernel-'));
  try {
    ns = await createTestNetns('i4');
    await ipIn(ns.name, ['addr', 'add', `${CLIENT}/24`, 'dev', 'lo']);
    // The "internet" is routed into lo: the output chain sees every packet towards it, nothing answers.
    await ipIn(ns.name, ['route', 'add', '203.0.113.0/24', 'dev', 'lo', 'src', CLIENT]);
    const targets = ['203.0.113.66', '203.0.113.5', '198.51.100.70', '203.0.113.200', '198.51.100.1'];
    await ipIn(ns.name, ['route', 'add', '198.51.100.0/24', 'dev', 'lo', 'src', CLIENT]);
    const r = await run('nsenter', [`--net=${netnsPath(ns.name)}`, process.execPath, '--import', 'tsx', CHILD, dir, CLIENT, JSON.stringify(targets)], { timeoutMs: 120_000 });
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      ok: boolean;
      error?: string;
      results: Record<string, { kernel: string; index: string | null }>;
      blocks: { client: string; remote: string; domain: string | null; direction: string }[];
      published: { remote: string; domain: string | null }[];
      lookedUpAs: { domain: string; clients: string[] }[];
    };
    assert.ok(out.ok, out.error);
    assert.deepEqual(out.results, {
      '203.0.113.66': { kernel: 'refused', index: '203.0.113.66 manual' },
      '203.0.113.5': { kernel: 'refused', index: '203.0.113.0/24 feed:phishing_db' },
      // Inbound-only: the firewall lets the LAN connect out (nothing answers in this namespace), and DNS lets it resolve.
      '198.51.100.70': { kernel: 'no answer', index: null },
      // In the listed /24 but allowlisted: neither blocked nor reported.
      '203.0.113.200': { kernel: 'no answer', index: null },
      '198.51.100.1': { kernel: 'no answer', index: null },
    });
    const byRemote = Object.fromEntries(out.blocks.map((b) => [b.remote, [b.client, b.direction, b.domain]]));
    assert.deepEqual(byRemote, {
      '203.0.113.66': [CLIENT, 'outbound', 'login-paypal.example'],
      '203.0.113.5': [CLIENT, 'outbound', 'phish-kit.example'],
    });
    assert.deepEqual(out.published.map((p) => [p.remote, p.domain]).sort(), [
      ['203.0.113.5', 'phish-kit.example'],
      ['203.0.113.66', 'login-paypal.example'],
    ]);
    assert.deepEqual(out.lookedUpAs.map((d) => [d.domain, d.clients]), [['login-paypal.example', [CLIENT]]]);
  } finally {
    await ns?.remove();
    await rm(dir, { recursive: true, force: true });
  }
});
