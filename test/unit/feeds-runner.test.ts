import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FeedRunner, type FeedChange } from '../../src/feeds/runner.js';
import type { FeedSpec } from '../../src/feeds/types.js';

let server: Server;
let base: string;
let body = '';
let version = 0;
let failNext = 0;
let requests = 0;

before(async () => {
  server = createServer((req, res) => {
    requests++;
    if (failNext > 0) {
      failNext--;
      return void res.writeHead(500).end();
    }
    const etag = `"v${version}"`;
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304).end();
    // A little latency so concurrent refreshes overlap.
    setTimeout(() => res.writeHead(200, { etag }).end(body), 30);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const publish = (lines: string[]): void => {
  body = `# test feed\n${lines.join('\n')}\n`;
  version++;
};
const hosts = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `203.0.${(from + i) >> 8}.${(from + i) & 255}`);

describe('FeedRunner with real HTTP and a recording apply', () => {
  const spec = (): FeedSpec => ({ name: 'lab', type: 'url', url: `${base}/list`, format: 'cidr', direction: 'inbound', refresh: 60_000, maxShrink: 0.5, timeout: 5000 });

  /**
   * Each test's own runner and recording apply. With `loadedWith`, that list is published and applied
   * first, so the test starts from a loaded feed and its validators, whatever ran before it.
   */
  async function fresh(loadedWith?: string[]) {
    const loaded = new Set<string>();
    const applied: FeedChange[] = [];
    const ctl = { failApply: false };
    const runner = new FeedRunner({
      current: () => loaded,
      apply: async (change) => {
        if (ctl.failApply) throw new Error('disk full');
        applied.push(change);
        for (const t of change.diff.added) loaded.add(t.text);
        for (const t of change.diff.removed) loaded.delete(t);
      },
      fetchOptions: { retries: 0, backoffMs: 10 },
    });
    let state = {};
    if (loadedWith) {
      publish(loadedWith);
      const r = await runner.refresh(spec(), {});
      assert.equal(r.outcome, 'applied');
      state = r.state;
    }
    return { runner, loaded, applied, ctl, state };
  }

  it('first refresh applies every entry and remembers the ETag', async () => {
    const { runner, loaded, applied } = await fresh();
    publish([...hosts(100), '10.0.0.0/8']);
    const r = await runner.refresh(spec(), {});
    assert.equal(r.outcome, 'applied');
    assert.ok(r.outcome === 'applied');
    assert.equal(r.added, 100);
    assert.equal(r.removed, 0);
    assert.deepEqual(r.state, { etag: `"v${version}"` });
    assert.equal(r.message, 'feed lab: 100 entries (+100 -0), 1 private/special ranges left out');
    assert.equal(applied.length, 1);
    assert.equal(loaded.size, 100);
  });

  it('an unchanged feed answers 304 and nothing is applied', async () => {
    const { runner, applied, state } = await fresh(hosts(100));
    const r = await runner.refresh(spec(), state);
    assert.equal(r.outcome, 'not_modified');
    assert.equal(applied.length, 1);
  });

  it('a collapsed list is refused, the old list stays and the ETag is not advanced', async () => {
    const { runner, loaded, applied, state } = await fresh(hosts(100));
    publish(hosts(12));
    const r = await runner.refresh(spec(), state);
    assert.equal(r.outcome, 'refused');
    assert.equal(r.message, 'feed lab returned 12 entries, previously 100 (-88%, limit -50%): keeping the previous list');
    assert.deepEqual(r.state, state);
    assert.equal(applied.length, 1);
    assert.equal(loaded.size, 100);
  });

  it('a normal change applies only the difference', async () => {
    const { runner, loaded, applied, state } = await fresh(hosts(100));
    publish(hosts(100, 10)); // drops 0..9, adds 100..109
    const r = await runner.refresh(spec(), state);
    assert.ok(r.outcome === 'applied');
    assert.equal(r.added, 10);
    assert.equal(r.removed, 10);
    assert.equal(r.unchanged, 90);
    assert.deepEqual([...applied.at(-1)!.diff.removed].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).slice(0, 2), ['203.0.0.0', '203.0.0.1']);
    assert.ok(loaded.has('203.0.0.109') && !loaded.has('203.0.0.0'));
  });

  it('a server error is reported and changes nothing', async () => {
    const { runner, loaded, state } = await fresh(hosts(100, 10));
    publish(hosts(100, 20));
    failNext = 1;
    const r = await runner.refresh(spec(), state);
    assert.ok(r.outcome === 'failed');
    assert.equal(r.message, `feed lab: HTTP 500 from ${base}/list`);
    assert.deepEqual(r.state, state);
    assert.ok(loaded.has('203.0.0.10'));
  });

  it('a failing apply keeps the old validators so the next refresh tries again', async () => {
    const { runner, ctl, state } = await fresh(hosts(100, 10));
    publish(hosts(100, 20));
    ctl.failApply = true;
    const r = await runner.refresh(spec(), state);
    ctl.failApply = false;
    assert.ok(r.outcome === 'failed');
    assert.match(r.message, /could not apply the new list: disk full/);
    assert.deepEqual(r.state, state);
    const again = await runner.refresh(spec(), r.state);
    assert.equal(again.outcome, 'applied');
  });

  it('concurrent refreshes of one feed share a single fetch', async () => {
    const { runner, state } = await fresh(hosts(100, 20));
    publish(hosts(100, 30));
    const before = requests;
    const [a, b] = await Promise.all([runner.refresh(spec(), state), runner.refresh(spec(), state)]);
    assert.equal(a, b);
    assert.equal(requests - before, 1);
  });

  it('a crowdsec-format feed is not something this runner fetches', async () => {
    const { runner } = await fresh();
    const r = await runner.refresh({ ...spec(), name: 'cs', type: 'crowdsec', format: 'crowdsec' });
    assert.equal(r.outcome, 'failed');
    assert.match(r.message, /format crowdsec is not a list format/);
  });
});
