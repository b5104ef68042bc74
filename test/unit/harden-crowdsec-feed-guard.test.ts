import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { feedDeps } from './helpers/feed-deps.js';
import { startCrowdsecFeed } from '../../src/crowdsec/index.js';
import type { CrowdsecFeedConfig } from '../../src/feeds/index.js';
import { parseTarget } from '../../src/net/ip.js';
import type { NetworkContext } from '../../src/net/target-guard.js';

/*
 * Issue #8, finding 3: an upstream CrowdSec LAPI (one compromised peer, or the internet through its
 * community blocklist) must not make us ban everything, the LAN or this gateway.
 */

const NET: NetworkContext = {
  lan: [{ target: parseTarget('10.77.0.0/24'), ifname: 'br-lan' }],
  own: [{ target: parseTarget('192.0.2.2'), ifname: 'wan0' }],
};

const decision = (value: string) => ({ duration: '3h59m0s', id: 1, origin: 'CAPI', scenario: 'x/y', scope: value.includes('/') ? 'Range' : 'Ip', type: 'ban', value });

test('decisions from an upstream LAPI go through the ban guard, in full syncs and deltas, and are counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'harden-csfeed-'));
  const store = openDecisionStore(dir);
  let body = JSON.stringify({
    deleted: null,
    new: ['0.0.0.0/0', '::/0', '10.77.0.0/24', '192.0.2.2', '128.0.0.0/1', '203.0.113.5'].map(decision),
  });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const warnings: string[] = [];
  const log = { info: () => undefined, warn: (_o: object, m: string) => void warnings.push(m) };
  const cfg: CrowdsecFeedConfig = {
    name: 'cs',
    type: 'crowdsec',
    format: 'crowdsec',
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    api_key: 'k',
    refresh: 3600_000,
    timeout: 5000,
    max_shrink: 0.5,
    direction: 'inbound',
    duration: undefined,
    scopes: ['ip', 'range'],
    origins: [],
    scenarios_containing: [],
    scenarios_not_containing: [],
  };
  const feed = startCrowdsecFeed(cfg, feedDeps(store, log, { network: () => NET }), 'test');
  try {
    const st = await feed.refresh();
    assert.deepEqual(store.service.list({ origin: 'feed:cs' }).map((d) => d.value), ['203.0.113.5']);
    assert.ok(st.skipped >= 5, `skipped ${st.skipped}`);
    assert.ok(warnings.some((w) => /refused 5 decision.*0\.0\.0\.0\/0 covers every IPv4 address/.test(w)), warnings.join('\n'));

    // A delta carrying a broad range: refused as well, the rest taken.
    body = JSON.stringify({ deleted: null, new: ['0.0.0.0/1', '198.51.100.9'].map(decision) });
    await (feed as unknown as { refresh(): Promise<unknown> }).refresh();
    const values = store.service.list({ origin: 'feed:cs' }).map((d) => d.value).sort();
    assert.ok(values.includes('198.51.100.9'));
    assert.ok(!values.includes('0.0.0.0/1'));
  } finally {
    await feed.stop();
    server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
