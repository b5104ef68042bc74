/**
 * The domain in the block report as an admin sees it: a resolver's memory (ResolvedNames) → the hit
 * collector → block events in SQLite → the admin API → the real CLI (`gatehouse blocks`, `gatehouse explain`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { adminRoutes } from '../../src/api/admin-routes.js';
import { openDecisionStore, type DecisionStore } from '../../src/decisions/index.js';
import { ResolvedNames } from '../../src/dns/index.js';
import { HitCollector } from '../../src/firewall/index.js';
import { BlockEventRepo } from '../../src/store/index.js';
import { startAdminForCli, type AdminForCli } from './helpers/admin-cli.js';
import { HitSets } from './helpers/hit-sets.js';
import { NO_STATUS } from './helpers/status.js';

const TOKEN = 'correct horse battery staple';
let dir: string;
let store: DecisionStore;
let admin: AdminForCli;
const nft = new HitSets();
const names = new ResolvedNames();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'i4-cli-blocks-'));
  store = openDecisionStore(dir);
  const blocks = new BlockEventRepo(store.db);
  const collector = new HitCollector(store.db, blocks, store.service, nft, {
    table: 'gatehouse',
    hitTimeoutSec: 3600,
    mode: () => 'enforce',
    clients: { whoIs: async (ip: string) => (ip === '192.168.1.10' ? { mac: 'aa:bb:cc:dd:ee:01', name: 'alice-laptop' } : { mac: null, name: null }) },
  });
  collector.setDomainSource(async (pairs) => names.lookupMany(pairs, Date.now()));
  const routes = adminRoutes({ decisions: store.service, blocks, enforced: async () => undefined, collect: async () => void (await collector.collect()), status: () => NO_STATUS });
  admin = await startAdminForCli(routes, dir, TOKEN);
});

after(async () => {
  await admin.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('gatehouse blocks / explain with domains', () => {
  test('blocks shows the name the client looked up next to the remote address, table and --json', async () => {
    store.service.add({ value: '203.0.113.0/24', origin: 'feed:phishing_db', scenario: 'list', direction: 'outbound' });
    names.note('192.168.1.10', 'login-paypal.example', ['203.0.113.66'], 60, Date.now());
    names.note('192.168.1.11', 'cdn-login.example', ['203.0.113.66'], 60, Date.now());
    nft.hit('hit_out4', '192.168.1.10', '203.0.113.66', 'tcp', 443, 3);
    nft.hit('hit_out4', '192.168.1.11', '203.0.113.66', 'tcp', 443);
    nft.hit('hit_out4', '192.168.1.12', '203.0.113.67', 'tcp', 443);

    const table = await admin.cli(['blocks']);
    assert.equal(table.code, 0, table.stderr);
    const line = table.stdout.split('\n').find((l) => l.includes('alice-laptop'));
    assert.match(line ?? '', /203\.0\.113\.66 \(login-paypal\.example\)\s+443\/tcp\s+3\s/);
    assert.match(table.stdout, /192\.168\.1\.11 +203\.0\.113\.66 \(cdn-login\.example\)/);
    assert.match(table.stdout, /192\.168\.1\.12 +203\.0\.113\.67 +443\/tcp/, 'no name known: the address alone');

    const json = await admin.cli(['blocks', '--json']);
    const rows = JSON.parse(json.stdout) as { clientIp: string; remoteIp: string; domain: string | null }[];
    assert.deepEqual(
      rows.map((r) => [r.clientIp, r.remoteIp, r.domain]).sort(),
      [
        ['192.168.1.10', '203.0.113.66', 'login-paypal.example'],
        ['192.168.1.11', '203.0.113.66', 'cdn-login.example'],
        ['192.168.1.12', '203.0.113.67', null],
      ],
    );
  });

  test('explain IP lists the names clients looked up that resolved to it', async () => {
    const r = await admin.cli(['explain', '203.0.113.66']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^203\.0\.113\.66 is LISTED by 1 decision\(s\)/);
    const section = r.stdout.slice(r.stdout.indexOf('looked up as'));
    assert.match(section, /login-paypal\.example +192\.168\.1\.10 /);
    assert.match(section, /cdn-login\.example +192\.168\.1\.11 /);
    const json = JSON.parse((await admin.cli(['explain', '203.0.113.66', '--json'])).stdout) as { domains: { domain: string; clients: string[] }[] };
    assert.deepEqual(json.domains.map((d) => [d.domain, d.clients]).sort(), [
      ['cdn-login.example', ['192.168.1.11']],
      ['login-paypal.example', ['192.168.1.10']],
    ]);
    const none = await admin.cli(['explain', '203.0.113.67']);
    assert.doesNotMatch(none.stdout, /looked up as/, 'no section without names');
  });
});
