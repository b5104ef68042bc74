import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { LapiStreamClient, LapiHttpError, decodeStream, type LapiUpdate } from '../../src/crowdsec/client/index.js';
import type { NewDecision } from '../../src/decisions/types.js';

/** Recorded from crowdsec 1.4.6 (shared/research/crowdsec-captures, beside the repo as in CI). */
const CAPTURES = join(fileURLToPath(new URL('../../', import.meta.url)), '..', 'shared', 'research', 'crowdsec-captures');
const capture = (name: string): string => readFileSync(join(CAPTURES, `${name}.json`), 'utf8');

interface Reply { status: number; body: string }
interface Seen { url: string; headers: IncomingMessage['headers'] }

/** A real HTTP server on 127.0.0.1:0 answering from a script; the last reply repeats. */
async function scriptedLapi(replies: Reply[]): Promise<{ server: Server; url: string; seen: Seen[]; push: (r: Reply) => void; port: number }> {
  const queue = [...replies];
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    const r = queue.length > 1 ? queue.shift()! : queue[0]!;
    res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(r.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${port}`, seen, port, push: (r) => queue.push(r) };
}

const ok = (body: string): Reply => ({ status: 200, body });
const EMPTY_NULL = '{"deleted":null,"new":null}';

function byValue(ds: readonly NewDecision[]): Map<string, NewDecision> {
  return new Map(ds.map((d) => [d.value, d]));
}

async function waitUntil(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('startup capture: ban decisions of scope Ip/Range become full set, captcha skipped, durations kept', async () => {
  const lapi = await scriptedLapi([ok(capture('30-stream-startup'))]);
  const updates: LapiUpdate[] = [];
  const c = new LapiStreamClient({ url: lapi.url, apiKey: 'k1', intervalMs: 1000, userAgent: 'gatehouse-test/1', onUpdate: (u) => void updates.push(u) });
  try {
    const u = await c.pollOnce();
    assert.equal(u?.kind, 'full');
    assert.ok(u?.kind === 'full');
    const m = byValue(u.decisions);
    assert.deepEqual([...m.keys()].sort(), ['192.0.2.10', '192.0.2.30', '198.51.100.0/24', '2001:db8::10']);
    const ip = m.get('192.0.2.10')!;
    assert.equal(ip.origin, 'crowdsec');
    assert.equal(ip.scenario, 'anchor/manual-ip');
    assert.equal(ip.reason, 'crowdsec: anchor/manual-ip (cscli)');
    assert.equal(ip.durationSec, 4 * 3600 - 2); // "3h59m57.907921681s" rounded up
    assert.equal(m.get('192.0.2.30')!.durationSec, 4); // "3.907928855s"
    assert.equal(c.stats.skipped.otherType, 1);
    assert.equal(c.stats.held, 4);
    // what the LAPI saw
    const url = new URL(lapi.seen[0]!.url, 'http://x');
    assert.equal(url.pathname, '/v1/decisions/stream');
    assert.equal(url.searchParams.get('startup'), 'true');
    assert.equal(url.searchParams.get('scopes'), 'ip,range');
    assert.equal(lapi.seen[0]!.headers['x-api-key'], 'k1');
    assert.equal(lapi.seen[0]!.headers['user-agent'], 'gatehouse-test/1');
  } finally {
    await c.stop();
    lapi.server.close();
  }
});

test('deltas: null arrays are no change; additions, repeated and unknown deletions, negative durations', async () => {
  const lapi = await scriptedLapi([
    ok(capture('30-stream-startup')),
    ok(capture('31-stream-next-no-change')), // {"deleted":null,"new":null}
    ok(capture('35-stream-after-expiry')), // 192.0.2.30 deleted
    ok(capture('37-stream-after-add')), // 192.0.2.40 added
    ok(capture('39-stream-after-delete')), // 192.0.2.40 deleted
    ok(capture('47-stream-after-alerts')), // 192.0.2.40 deleted again (2 s overlap) + 3 new from alerts
    ok('{"deleted":[],"new":[{"duration":"-1.5s","origin":"crowdsec","scenario":"x/y","scope":"ip","type":"ban","value":"203.0.113.60"}]}'),
  ]);
  const c = new LapiStreamClient({ url: lapi.url, apiKey: 'k', intervalMs: 1000, userAgent: 'ua', origins: ['cscli', 'crowdsec'],
    scenariosContaining: ['ssh', 'anchor'], scenariosNotContaining: ['http'], onUpdate: () => {} });
  try {
    assert.equal((await c.pollOnce())?.kind, 'full');
    assert.equal(await c.pollOnce(), undefined, 'null/null is no update');
    assert.deepEqual(await c.pollOnce(), { kind: 'delta', added: [], deleted: ['192.0.2.30'] });
    const add = await c.pollOnce();
    assert.ok(add?.kind === 'delta');
    assert.deepEqual(add.added.map((d) => [d.value, d.durationSec]), [['192.0.2.40', 7200]]);
    assert.deepEqual(await c.pollOnce(), { kind: 'delta', added: [], deleted: ['192.0.2.40'] });
    const alerts = await c.pollOnce();
    assert.ok(alerts?.kind === 'delta');
    assert.deepEqual(alerts.deleted, [], 'a deletion repeated within the LAPI overlap is reported once');
    assert.deepEqual(alerts.added.map((d) => d.value).sort(), ['203.0.113.128/25', '203.0.113.50', '203.0.113.60']);
    // already-expired decision in `new` (negative duration) removes it
    assert.deepEqual(await c.pollOnce(), { kind: 'delta', added: [], deleted: ['203.0.113.60'] });
    assert.equal(c.stats.skipped.expiredInNew, 1);
    assert.deepEqual(c.current().map((d) => d.value).sort(), ['192.0.2.10', '198.51.100.0/24', '2001:db8::10', '203.0.113.128/25', '203.0.113.50']);
    const q = new URL(lapi.seen[1]!.url, 'http://x').searchParams;
    assert.equal(q.get('startup'), 'false');
    assert.equal(q.get('origins'), 'cscli,crowdsec');
    assert.equal(q.get('scenarios_containing'), 'ssh,anchor');
    assert.equal(q.get('scenarios_not_containing'), 'http');
  } finally {
    await c.stop();
    lapi.server.close();
  }
});

test('startup history in `deleted` is ignored; a value deleted and re-added in one response stays', () => {
  const d = decodeStream(JSON.parse(capture('57-stream-startup-after-all')));
  assert.equal(d.added.size, 0);
  const both = decodeStream({
    deleted: [{ duration: '-1h', origin: 'cscli', scenario: 's', scope: 'Ip', type: 'ban', value: '192.0.2.9' }],
    new: [{ duration: '1h', origin: 'cscli', scenario: 's', scope: 'IP', type: 'BAN', value: '192.0.2.9' },
      { duration: '2h', origin: 'cscli', scenario: 'longer', scope: 'ip', type: 'ban', value: '192.0.2.9' }],
  });
  assert.deepEqual([...both.deleted], []);
  assert.equal(both.added.get('192.0.2.9')?.scenario, 'longer', 'the longest of two decisions for one value wins');
});

test('malformed items are skipped and counted; the rest of the response is used', () => {
  const d = decodeStream({
    new: [
      null, 42, 'x', [], {},
      { duration: 'soon', scope: 'Ip', type: 'ban', value: '192.0.2.1', origin: 'o', scenario: 's' },
      { duration: '1h', scope: 'Ip', type: 'ban', value: '999.1.1.1', origin: 'o', scenario: 's' },
      { duration: '1h', scope: 'Ip', type: 'ban', value: '10.0.0.0/8', origin: 'o', scenario: 's' }, // Ip scope with a range
      { duration: '1h', scope: 'username', type: 'ban', value: 'bob', origin: 'o', scenario: 's' },
      { duration: '1h', scope: 'Country', type: 'ban', value: 'FR', origin: 'o', scenario: 's' },
      { duration: '1h', scope: 'RANGE', type: 'ban', value: '2001:db8::/32', origin: 'CAPI', scenario: 'a/b' },
      { duration: '1h', scope: 'ip', type: 'ban', value: '91.241.19.122/32', origin: 'CAPI', scenario: 'a/b' },
    ],
    deleted: [{ nope: true }],
  });
  assert.deepEqual([...d.added.keys()].sort(), ['2001:db8::/32', '91.241.19.122']);
  assert.equal(d.counts.malformed, 9);
  assert.equal(d.counts.otherScope, 2);
  assert.throws(() => decodeStream(null), /not a JSON object/);
  assert.throws(() => decodeStream({ new: 'x' }), /neither an array nor null/);
});

test('fuzz: random stream bodies never crash the decoder and only produce valid decisions', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const values = ['192.0.2.1', '1.2.3.0/24', '::1', '2001:db8::/48', '', '1.2.3', '300.1.1.1', 'a:b:c', '1.2.3.4/33', '0.0.0.0/0'];
  const durations = ['1h', '-1s', '0', '1.5ms', '', 'h', '3h59m57.907921681s', '-18897h25m52.809576151s', '9999999999h', '1d'];
  const anyVal = () => pick<unknown>([null, 1, 'x', true, {}, [], pick(values), pick(durations)]);
  for (let i = 0; i < 2000; i++) {
    const item = () => rnd() < 0.2 ? anyVal() : {
      duration: rnd() < 0.9 ? pick(durations) : anyVal(), scope: pick(['Ip', 'range', 'RANGE', 'user', 3]),
      type: pick(['ban', 'captcha', 'BAN']), value: rnd() < 0.9 ? pick(values) : anyVal(), origin: 'o', scenario: 's',
    };
    const body = { new: rnd() < 0.2 ? null : Array.from({ length: Math.floor(rnd() * 5) }, item), deleted: rnd() < 0.2 ? null : Array.from({ length: 3 }, item) };
    const d = decodeStream(body);
    for (const x of d.added.values()) {
      assert.ok(typeof x.durationSec === 'number' && x.durationSec >= 1, JSON.stringify(x));
      assert.ok(!d.deleted.has(x.value));
    }
  }
});

test('403 bad key: error reported with a clear message, held decisions kept, full resync once the key works', async () => {
  const lapi = await scriptedLapi([
    ok(capture('30-stream-startup')),
    { status: 403, body: capture('28-get-decisions-badkey') },
    { status: 403, body: capture('28-get-decisions-badkey') },
    ok(capture('37-stream-after-add')),
  ]);
  const updates: LapiUpdate[] = [];
  const errors: Error[] = [];
  const c = new LapiStreamClient({ url: lapi.url, apiKey: 'k', intervalMs: 20, userAgent: 'ua', backoffInitialMs: 20, backoffMaxMs: 40,
    onUpdate: (u) => void updates.push(u), onError: (e) => void errors.push(e) });
  try {
    c.start();
    await waitUntil('second full sync', () => updates.filter((u) => u.kind === 'full').length >= 2);
    assert.equal(errors.length, 2);
    assert.ok(errors[0] instanceof LapiHttpError);
    assert.equal(errors[0].status, 403);
    assert.match(errors[0].message, /refused the API key/);
    assert.equal(c.stats.errors, 2);
    assert.deepEqual(lapi.seen.slice(0, 4).map((s) => new URL(s.url, 'http://x').searchParams.get('startup')), ['true', 'false', 'true', 'true']);
    // The resync after the failure is a full picture (the recorded reply only holds 192.0.2.40).
    const last = updates.at(-1)!;
    assert.ok(last.kind === 'full');
    assert.deepEqual(last.decisions.map((d) => d.value), ['192.0.2.40']);
  } finally {
    await c.stop();
    lapi.server.close();
  }
});

test('500 then recovery, and LAPI down (connection refused): state kept, backoff, full resync after', async () => {
  const lapi = await scriptedLapi([
    ok(capture('30-stream-startup')),
    { status: 500, body: '{"message":"database is locked"}' },
    ok(capture('30-stream-startup')),
  ]);
  const updates: LapiUpdate[] = [];
  const errors: Error[] = [];
  const c = new LapiStreamClient({ url: lapi.url, apiKey: 'k', intervalMs: 30, userAgent: 'ua', backoffInitialMs: 30, backoffMaxMs: 100,
    onUpdate: (u) => void updates.push(u), onError: (e) => void errors.push(e) });
  try {
    c.start();
    await waitUntil('two full syncs', () => updates.filter((u) => u.kind === 'full').length >= 2);
    assert.match(errors[0]!.message, /HTTP 500/);
    // Now the LAPI goes away entirely.
    await new Promise<void>((r) => { lapi.server.close(() => r()); lapi.server.closeAllConnections(); });
    const before = errors.length;
    await waitUntil('connection errors', () => errors.length >= before + 2);
    assert.equal(c.current().length, 4, 'decisions are kept while the LAPI is down');
    const fullsBefore = updates.filter((u) => u.kind === 'full').length;
    // Back on the same port with the same data: the client resyncs in full.
    await new Promise<void>((r) => lapi.server.listen(lapi.port, '127.0.0.1', r));
    await waitUntil('resync', () => updates.filter((u) => u.kind === 'full').length > fullsBefore, 8000);
    assert.equal(c.stats.consecutiveErrors, 0);
    assert.equal(c.current().length, 4);
  } finally {
    await c.stop();
    lapi.server.close();
  }
});

test('a client restart (stop/start) begins with startup=true', async () => {
  const lapi = await scriptedLapi([ok(capture('30-stream-startup')), ok(EMPTY_NULL)]);
  const c = new LapiStreamClient({ url: `${lapi.url}/`, apiKey: 'k', intervalMs: 1000, userAgent: 'ua', onUpdate: () => {} });
  try {
    await c.pollOnce();
    await c.pollOnce();
    await c.stop();
    await c.pollOnce();
    assert.deepEqual(lapi.seen.map((s) => new URL(s.url, 'http://x').searchParams.get('startup')), ['true', 'false', 'true']);
  } finally {
    await c.stop();
    lapi.server.close();
  }
});

test('a consumer that throws gets a full resync next time', async () => {
  const lapi = await scriptedLapi([ok(capture('30-stream-startup')), ok(capture('37-stream-after-add')), ok(capture('30-stream-startup'))]);
  let fail = false;
  const c = new LapiStreamClient({ url: lapi.url, apiKey: 'k', intervalMs: 1000, userAgent: 'ua', onUpdate: () => { if (fail) throw new Error('db full'); } });
  try {
    await c.pollOnce();
    fail = true;
    await assert.rejects(c.pollOnce(), /db full/);
    fail = false;
    assert.equal((await c.pollOnce())?.kind, 'full');
  } finally {
    lapi.server.close();
  }
});
