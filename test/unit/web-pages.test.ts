import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APP_CSS, APP_JS } from '../../src/web/assets.js';
import { blockRow, blocksPage, liveRow } from '../../src/web/pages/blocks.js';
import { hourlySeries } from '../../src/web/pages/overview.js';
import { sseFrame } from '../../src/web/live.js';
import type { BlockEvent } from '../../src/store/index.js';

const ev: BlockEvent = {
  id: 7, direction: 'outbound', clientIp: '10.77.0.10', clientMac: '02:77:00:00:00:10', clientName: '<img src=x onerror=alert(1)>',
  remoteIp: '203.0.113.66', protocol: 'tcp', port: 80, mode: 'blocked', firstSeen: 1, lastSeen: 2, count: 3, bytes: 180,
  decisions: [{ id: 4, origin: 'feed:phish', scenario: 'x"><script>alert(1)</script>', reason: 'fake <b>login</b>' }], domain: 'amazon-signin.example',
};

describe('dashboard pages', () => {
  it('escapes everything a block carries (names, reasons, scenarios come from feeds and the LAN)', () => {
    const h = blockRow(ev).text;
    assert.ok(!h.includes('<img'), h);
    assert.ok(!h.includes('<script>'), h);
    assert.ok(h.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(h.includes('fake &lt;b&gt;login&lt;/b&gt;'));
    assert.ok(h.includes('looked up as <b>amazon-signin.example</b>'));
    const live = liveRow({ ...ev, domain: 'amazon-signin.example', seenAt: 2, packets: 2 }).text;
    assert.ok(!live.includes('<script>') && live.includes('+2'));
  });
  it('pages the report with the cursor the API gave, keeping the filters', () => {
    const h = blocksPage({ blocks: [ev], filters: { direction: 'outbound', client: 'alice' }, next: '2:7' }).text;
    assert.match(h, /href="\/blocks\?direction=outbound&amp;client=alice&amp;before=2%3A7"/);
    assert.ok(!h.includes('data-live'), 'a filtered page is not live');
    assert.match(blocksPage({ blocks: [], filters: {} }).text, /data-live="\/live"/);
  });
  it('buckets the chart in 24 hours ending with the current one', () => {
    const now = Date.UTC(2026, 0, 2, 10, 30);
    const hour = Date.UTC(2026, 0, 2, 9);
    const s = hourlySeries({ since: 0, hourly: [{ hour, direction: 'outbound', count: 5 }, { hour: hour - 48 * 3600_000, direction: 'inbound', count: 9 }], topClients: [], topRemotes: [], remotesAsOf: now }, now);
    assert.equal(s.labels.length, 24);
    assert.equal(s.labels[23], '10:00');
    assert.equal(s.outbound[22], 5);
    assert.equal(s.inbound.reduce((a, b) => a + b, 0), 0, 'older than the window is left out');
  });
  it('writes each line of a server-sent event as its own data line', () => {
    assert.equal(sseFrame('block', 'a\nb'), 'event: block\ndata: a\ndata: b\n\n');
  });
});
