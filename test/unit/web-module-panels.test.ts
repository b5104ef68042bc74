/**
 * The dashboard's module panels and Clients page as pure functions: which DNS group, portal user and usage a
 * device gets, and what the panels show of the modules' answers (escaped, with the counts the admin reads).
 * test/e2e/web-modules-lab.test.ts shows the same through a real daemon and browser.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DnsQueryRow, DnsStatus, PortalSessionView, PortalVoucher, ShapedClient } from '../../src/api/index.js';
import type { LanDevice } from '../../src/clients/index.js';
import { deviceGroups } from '../../src/dns/index.js';
import { clientsPage, deviceViews } from '../../src/web/pages/clients.js';
import { dnsListsFragment, modulePanels } from '../../src/web/pages/module-panels.js';

const dev = (mac: string, ipv4: string[], name: string | null = null, ipv6: string[] = []): LanDevice => ({ mac, name, ipv4, ipv6, lastSeen: Date.now() });
const alice = dev('02:77:00:00:00:10', ['10.77.0.10'], 'alice-laptop', ['fd77::10']);
const bob = dev('02:77:00:00:00:11', ['10.77.0.11'], 'bob-phone');
const guest = dev('02:77:00:00:00:12', ['10.77.9.5']);
const other = dev('02:77:00:00:00:13', ['192.168.5.5']);

const session = (over: Partial<PortalSessionView> = {}): PortalSessionView => ({
  id: 's1', user: 'alice', method: 'accounts', device: { mac: alice.mac, ipv4: ['10.77.0.10'], ipv6: [] }, startedAt: Date.now() - 60_000,
  endsAt: Date.now() + 3600_000, lastActivity: Date.now(), bytesDown: 20_400_000, bytesUp: 25_000, state: 'active', ...over,
});
const share = (over: Partial<ShapedClient> = {}): ShapedClient => ({
  key: 'user:alice', user: 'alice', ips: ['10.77.0.10'], downBps: 73_600_000, upBps: 87_000, bytesToday: { down: 20_400_000, up: 25_000 }, classId: 16, fairUse: false, connections: 3, ...over,
});

describe('DNS group of each device', () => {
  const groups = [
    { name: 'kids', clients: ['bob-phone'] },
    { name: 'residents', clients: ['02:77:00:00:00:10', '10.77.9.0/24'] },
  ];
  it('by MAC, by device name, by range, else default; an opt-out wins over any group', () => {
    const g = deviceGroups({ groups }, [], [alice, bob, guest, other]);
    assert.deepEqual(Object.fromEntries(g), { [alice.mac]: 'residents', [bob.mac]: 'kids', [guest.mac]: 'residents', [other.mac]: 'default' });
    const out = deviceGroups({ groups }, ['10.77.0.10'], [alice, bob]);
    assert.equal(out.get(alice.mac), 'optout');
  });
});

describe('Clients page', () => {
  it('joins the portal user, the DNS group and the shaper usage to each device', () => {
    const v = deviceViews([alice, bob], {
      sessions: [session(), session({ id: 's2', user: 'mallory', device: { mac: bob.mac, ipv4: ['10.77.0.11'], ipv6: [] }, state: 'ended' })],
      shaped: [share()],
      dnsGroups: new Map([[alice.mac, 'residents'], [bob.mac, 'default']]),
    });
    assert.equal(v[0]!.portalUser, 'alice');
    assert.equal(v[0]!.dnsGroup, 'residents');
    assert.deepEqual(v[0]!.usage, { down: 20_400_000, up: 25_000, downBps: 73_600_000, upBps: 87_000, share: 'alice' });
    assert.equal(v[1]!.portalUser, undefined, 'an ended session names nobody');
    assert.equal(v[1]!.usage, undefined);
    const h = clientsPage({ devices: v, blocks: [], shaper: true }).text;
    assert.match(h, /data-k="user">alice</);
    assert.match(h, /data-k="group">residents</);
    assert.match(h, /data-k="usage">20\.4 MB \/ 25 kB/);
    assert.doesNotMatch(clientsPage({ devices: v, blocks: [], shaper: false }).text, /Today down/, 'no usage column without the shaper');
  });
});

describe('module panels', () => {
  const status: DnsStatus = {
    listen: ['10.77.0.1:53'], workers: [], qps: 1.5, domainIndex: { rules: 1, builtAt: 1 }, ipIndex: { entries: 0 }, answerCheck: 'enforce', optout: [],
    totals: { queries: 200, cached: 50, blocked: 5, monitored: 0, servfail: 0, formerr: 0, tcp: 0, truncated: 0, upstreamUs: 0, upstreamCount: 0 },
  };
  const row: DnsQueryRow = {
    id: 1, time: Date.now(), client: '10.77.0.10', mac: null, clientName: null, name: 'pixel.adnet.example', qtype: 1, type: 'A', rcode: 3, rcodeName: 'NXDOMAIN',
    answer: null, blocked: { by: 'list', what: 'ads:<b>adnet.example</b>' }, monitored: null, upstream: null, latencyUs: 10, cached: false,
  };
  const voucher = (used: number): PortalVoucher => ({ id: used, prefix: `K7Q${used}`, timeMs: 3600_000, download: null, upload: null, uses: 3, used, firstUsedAt: null, createdAt: 1 });

  it('DNS: counts with the blocked share, top lists, and last blocked queries named by the device, escaped', () => {
    const panel = modulePanels({ dns: { status } }).text;
    assert.match(panel, /data-k="blocked">5 \(2\.5 %\)/);
    assert.match(panel, /hx-get="\/ui\/dns-lists" hx-trigger="load"/, 'the query log lists come after the page');
    assert.doesNotMatch(panel, /portal-panel|shaper-panel/, 'only the modules that run');
    const h = dnsListsFragment({
      top: { since: 0, until: 1, totals: { queries: 200, blocked: 5, cached: 50, blockedPct: 2.5, cachedPct: 25 }, names: [], blocked: [{ name: 'pixel.adnet.example', count: 5 }], clients: [] },
      blocked: [row],
      names: new Map([['10.77.0.10', 'alice-laptop']]),
    }).text;
    assert.match(h, /class="top-blocked"><li><span class="mono">pixel\.adnet\.example<\/span> · 5×/);
    assert.match(h, /<td>alice-laptop<\/td>/, 'a row logged without a name gets the device name');
    assert.ok(h.includes('ads:&lt;b&gt;adnet.example&lt;/b&gt;') && !h.includes('<b>adnet'), 'escaped');
    assert.match(dnsListsFragment({}).text, /does not answer/);
  });

  it('portal: sessions with user and bytes, vouchers with uses left (used-up ones left out); shaper: rates and bytes today', () => {
    const h = modulePanels({ portal: { sessions: [session()], vouchers: [voucher(1), voucher(3)], accounts: [{ name: 'alice', createdAt: 1, updatedAt: 1 }, { name: 'bob', createdAt: 1, updatedAt: 1 }] }, shaper: { clients: [share()] } }).text;
    assert.match(h, /data-k="accounts">2 accounts, 1 signed in now/);
    assert.match(h, /<tr data-user="alice"><td>alice/);
    assert.match(h, /20\.4 MB \/ 25 kB/);
    assert.match(h, /K7Q1…<\/span> · 2 of 3 left/);
    assert.doesNotMatch(h, /K7Q3/);
    assert.match(h, /<tr data-key="user:alice">[\s\S]*73\.6 Mbit\/s \/ 87 kbit\/s[\s\S]*20\.4 MB \/ 25 kB/);
    assert.match(modulePanels({ portal: { sessions: [] }, shaper: { clients: [] } }).text, /No one signed in[\s\S]*No traffic shaped now/);
  });
});
