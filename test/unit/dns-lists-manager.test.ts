import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DnsLists, type DnsListConfig, type DomainIndex } from '../../src/dns/index.js';
import { createScheduler, ManualClock } from '../../src/scheduler/index.js';

/** What the loopback server answers next; the handler honours If-None-Match like a real CDN. */
let body = '';
let status = 200;
let contentType = 'text/plain';
let requests = 0;
let server: Server;
let base = '';
const dirs: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    requests++;
    if (req.url === '/hang') return; // a mirror that accepts the connection and never answers
    const etag = `"${Buffer.from(body).length}-${status}-${body.slice(-20).replace(/[^a-z0-9]/g, '')}"`;
    if (status === 200 && req.headers['if-none-match'] === etag) {
      res.writeHead(304).end();
      return;
    }
    res.writeHead(status, { 'content-type': contentType, etag }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const hosts = (n: number): string => Array.from({ length: n }, (_, i) => `0.0.0.0 ad${i}.example`).join('\n') + '\n';
const HTML_PAGE = '<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<h1>Bad Gateway</h1>\n<p>The upstream server is down.</p>\n</body>\n</html>\n';

function setup(extra: { allowPath?: string; path?: string; timeout?: number } = {}) {
  const clock = new ManualClock(0);
  const warnings: string[] = [];
  const log = { info: () => {}, warn: (_o: object, m: string) => warnings.push(m), error: () => {} };
  const scheduler = createScheduler({ clock, log });
  const indexes: DomainIndex[] = [];
  const common = { refresh: 3_600_000, timeout: extra.timeout ?? 5_000, max_shrink: 0.5, category: 'ads' };
  const blocklists: DnsListConfig[] = [{ name: 'ads', type: 'url', url: `${base}${extra.path ?? '/hosts'}`, format: 'hosts', ...common }];
  const allowlists: DnsListConfig[] = extra.allowPath ? [{ name: 'mine', type: 'file', path: extra.allowPath, format: 'domains', ...common }] : [];
  const lists = new DnsLists({ blocklists, allowlists }, { scheduler, log, onIndex: (i) => indexes.push(i), fetchOptions: { retries: 0 } });
  return { clock, scheduler, lists, indexes, warnings };
}

describe('DnsLists: download, guard, schedule', () => {
  it('loads at start, then keeps the previous entries when the list turns into an HTML page, an empty body or a 500', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-h2-lists-'));
    dirs.push(dir);
    const allowPath = join(dir, 'allow.txt');
    writeFileSync(allowPath, '# mine\nad3.example\n');
    body = hosts(100);
    status = 200;
    contentType = 'text/plain';
    const { clock, scheduler, lists, indexes, warnings } = setup({ allowPath });
    try {
      lists.start();
      await clock.advance(0);
      await Promise.all(scheduler.jobs().map((j) => j.idle()));
      await lists.refresh(); // waits for the index build the first runs started
      const idx = lists.current();
      assert.ok(indexes.length >= 1 && indexes.at(-1) === idx, 'onIndex got the index in force');
      assert.deepEqual(lists.explain('x.ad7.example'), { verdict: 'none' }, 'hosts entries are exact');
      assert.deepEqual(lists.explain('ad7.example'), { verdict: 'block', list: 0, matched: 'ad7.example', listName: 'ads' });
      assert.deepEqual(lists.explain('ad3.example'), { verdict: 'allow', list: 1, matched: 'ad3.example', listName: 'mine' });
      const [ads, mine] = lists.status();
      assert.equal(ads?.entries, 100);
      assert.equal(ads?.lastError, null);
      assert.equal(ads?.source, `${base}/hosts`);
      assert.equal(mine?.role, 'allow');
      assert.equal(mine?.allowRules, 1);

      // Same list again: the server answers 304 to the remembered ETag, nothing is rebuilt.
      const built = indexes.length;
      await clock.advance(1000);
      await lists.refresh('ads');
      assert.equal(indexes.length, built);
      assert.equal(lists.status()[0]?.lastRefreshAt, 1000);

      // An error page with status 200: every line is garbage for a hosts list → refused.
      body = HTML_PAGE;
      contentType = 'text/html';
      const [afterHtml] = await lists.refresh('ads');
      assert.match(afterHtml!.lastError ?? '', /blocklist ads: .* are not valid hosts entries.*keeping the previous list/);
      assert.equal(afterHtml?.entries, 100, 'the previous parse stays in force');
      assert.equal(lists.current().match('ad7.example', 1).verdict, 'block');
      assert.equal(indexes.length, built, 'no new index for a refused list');

      // Empty body → refused (it listed 100 names before).
      body = '';
      contentType = 'text/plain';
      const [afterEmpty] = await lists.refresh('ads');
      assert.match(afterEmpty!.lastError ?? '', /returned no entries \(the body was empty\), previously 100: keeping the previous list/);

      // Sudden shrink past max_shrink → refused; a 500 → failed; both keep the list.
      body = hosts(10);
      assert.match((await lists.refresh('ads'))[0]!.lastError ?? '', /returned 10 entries, previously 100 \(-90%, limit -50%\)/);
      status = 500;
      body = hosts(100) + '0.0.0.0 new.example\n';
      assert.match((await lists.refresh('ads'))[0]!.lastError ?? '', /blocklist ads: HTTP 500 .*keeping the previous list/);
      assert.equal(lists.current().match('ad99.example', 1).verdict, 'block');
      assert.ok(warnings.length >= 4);

      // The server recovers: the scheduled refresh (one interval after the last run) picks up the change.
      status = 200;
      const before = requests;
      await clock.advance(3_600_000);
      await Promise.all(scheduler.jobs().map((j) => j.idle()));
      await lists.refresh('mine');
      assert.ok(requests > before, 'the schedule fetched again');
      assert.equal(lists.status()[0]?.lastError, null);
      assert.equal(lists.status()[0]?.entries, 101);
      assert.equal(lists.current().match('new.example', 1).verdict, 'block');
      assert.equal(lists.current().match('ad3.example', 0b11).verdict, 'allow');
    } finally {
      await lists.stop();
      await scheduler.stop();
    }
  });

  it('a first load that is an HTML page loads nothing and says why; an unknown list name is an error', async () => {
    body = HTML_PAGE;
    status = 200;
    const { lists, scheduler } = setup();
    try {
      const [s] = await lists.refresh('ads');
      assert.equal(s?.entries, 0);
      assert.match(s?.lastError ?? '', /not valid hosts entries, e\.g\. line 1: "<!DOCTYPE html>".*is the URL or format wrong\? nothing loaded/);
      await assert.rejects(lists.refresh('nope'), /no DNS list named "nope" \(lists: ads\)/);
    } finally {
      await lists.stop();
      await scheduler.stop();
    }
  });

  it('stop() cancels a download in progress instead of waiting out its timeout', async () => {
    const { lists, scheduler } = setup({ path: '/hang', timeout: 120_000 });
    const running = lists.refresh('ads');
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await lists.stop();
    const [s] = await running;
    assert.ok(Date.now() - t0 < 60_000, 'stop returned long before the 120 s timeout');
    assert.match(s?.lastError ?? '', /cancelled while fetching/);
    await scheduler.stop();
  });

  it('more than 32 lists or a name used twice is refused at construction', () => {
    const clock = new ManualClock(0);
    const scheduler = createScheduler({ clock, log: { error: () => {} } });
    const l = (name: string): DnsListConfig => ({ name, type: 'file', path: '/x', format: 'domains', refresh: 1, timeout: 1, max_shrink: 0.5, category: 'ads' });
    const deps = { scheduler, log: { info: () => {}, warn: () => {} }, onIndex: () => {} };
    assert.throws(() => new DnsLists({ blocklists: [l('a')], allowlists: [l('a')] }, deps), /dns\.allowlists\[0\]\.name: list name "a" is already used by blocklists\[0\]/);
    assert.throws(() => new DnsLists({ blocklists: Array.from({ length: 33 }, (_, i) => l(`l${i}`)), allowlists: [] }, deps), /at most 32 lists/);
  });
});
