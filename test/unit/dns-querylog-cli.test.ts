/**
 * Issue #10: `gatehouse dns log` and `gatehouse dns top`, the real CLI against the real admin server with
 * the query log's routes on a real query-log file: filters reach the reader, bad input is a clear 400, and
 * --json prints what the API answered.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryLogService, QueryLogWriter, queryLogPath, queryLogRoutes, type QueryRecord } from '../../src/dns/index.js';
import { startAdminForCli, type AdminForCli } from './helpers/admin-cli.js';

const TOKEN = 'dns query log test token';
const NOW = Date.now();
const MIN = 60_000;

let dir: string;
let log: QueryLogService;
let admin: AdminForCli;

function rec(over: Partial<QueryRecord> & Pick<QueryRecord, 't' | 'name'>): QueryRecord {
  return { client: '192.168.1.10', mac: '02:00:00:00:00:0a', clientName: 'laptop', qtype: 1, rcode: 0, latencyUs: 1500, cached: false, ...over };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h6-qlog-cli-'));
  const file = queryLogPath(dir);
  log = QueryLogService.open(file);
  const w = new QueryLogWriter(file, 'full');
  for (const r of [
    rec({ t: NOW - 3 * 3600_000, name: 'old.example.com', answer: '192.0.2.1', upstream: 'udp://9.9.9.9:53' }),
    rec({ t: NOW - 30 * MIN, name: 'ads.tracker.net', rcode: 3, blocked: { by: 'list', what: 'stevenblack' }, client: '192.168.1.20', mac: '02:00:00:00:00:0b', clientName: 'phone' }),
    rec({ t: NOW - 20 * MIN, name: 'www.example.com', answer: '192.0.2.2', cached: true, latencyUs: 40 }),
    rec({ t: NOW - 10 * MIN, name: 'ads.tracker.net', rcode: 3, blocked: { by: 'list', what: 'stevenblack' }, client: '192.168.1.20', mac: '02:00:00:00:00:0b', clientName: 'phone' }),
  ]) w.push(r);
  await w.close();
  admin = await startAdminForCli(queryLogRoutes({ log }), dir, TOKEN);
});

after(async () => {
  await admin.close();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('gatehouse dns log', () => {
  test('lists the log newest first: who, what, the result and why, where the answer came from', async () => {
    const r = await admin.cli(['dns', 'log']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^TIME\s+CLIENT\s+TYPE\s+NAME\s+RESULT\s+FROM\s+LATENCY\s+ANSWER$/);
    assert.equal(lines.length, 5);
    assert.match(lines[1]!, /192\.168\.1\.20 02:00:00:00:00:0b phone\s+A\s+ads\.tracker\.net\s+blocked: list stevenblack\s+-\s+1\.5ms\s+-$/);
    assert.match(lines[2]!, /www\.example\.com\s+NOERROR\s+cache\s+0\.0ms\s+192\.0\.2\.2$/);
    assert.match(lines[4]!, /old\.example\.com\s+NOERROR\s+udp:\/\/9\.9\.9\.9:53/);
  });

  test('filters: --blocked, --client by name, --domain, --since, --limit; --json is the API rows', async () => {
    const blocked = JSON.parse((await admin.cli(['dns', 'log', '--blocked', '--json'])).stdout) as { name: string; blocked: unknown }[];
    assert.deepEqual(blocked.map((b) => [b.name, b.blocked]), [
      ['ads.tracker.net', { by: 'list', what: 'stevenblack' }],
      ['ads.tracker.net', { by: 'list', what: 'stevenblack' }],
    ]);
    const laptop = JSON.parse((await admin.cli(['dns', 'log', '--client', 'laptop', '--since', '1h', '--json'])).stdout) as { name: string }[];
    assert.deepEqual(laptop.map((q) => q.name), ['www.example.com']);
    const byMac = JSON.parse((await admin.cli(['dns', 'log', '--client', '02:00:00:00:00:0B', '--limit', '1', '--json'])).stdout) as { time: number }[];
    assert.deepEqual(byMac.map((q) => q.time), [NOW - 10 * MIN]);
    const domain = JSON.parse((await admin.cli(['dns', 'log', '--domain', 'example.com', '--json'])).stdout) as { name: string }[];
    assert.deepEqual(domain.map((q) => q.name), ['www.example.com', 'old.example.com']);
  });

  test('a bad duration or limit is refused with the reason, and nothing prints as a listing', async () => {
    const r = await admin.cli(['dns', 'log', '--since', 'soon']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^gatehouse: query: since: bad duration "soon"/);
    assert.equal(r.stdout, '');
    const l = await admin.cli(['dns', 'log', '--limit', 'lots']);
    assert.equal(l.code, 1);
    assert.match(l.stderr, /limit/);
    const api = await fetch(`${admin.tcpAddress}/v1/dns/log?nonsense=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(api.status, 400);
  });
});

describe('gatehouse dns top', () => {
  test('totals with percentages, top names, top blocked, top clients; the window defaults to 24h', async () => {
    const r = await admin.cli(['dns', 'top', '--since', '1h']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: 3 queries, 2 blocked \(66\.7%\), 1 from cache \(33\.3%\)/);
    assert.match(r.stdout, /top blocked names:\nCOUNT\s+NAME\n2\s+ads\.tracker\.net\n/);
    assert.match(r.stdout, /top clients:\nCOUNT\s+BLOCKED\s+CLIENT\n2\s+2\s+192\.168\.1\.20 02:00:00:00:00:0b phone\n1\s+0\s+192\.168\.1\.10/);
    const day = JSON.parse((await admin.cli(['dns', 'top', '--json'])).stdout) as { totals: { queries: number }; names: { name: string; count: number }[]; since: number };
    assert.equal(day.totals.queries, 4);
    assert.deepEqual(day.names[0], { name: 'ads.tracker.net', count: 2 });
    assert.ok(Math.abs(day.since - (NOW - 24 * 3600_000)) < 10 * MIN);
    const one = JSON.parse((await admin.cli(['dns', 'top', '--limit', '1', '--json'])).stdout) as { names: unknown[]; clients: unknown[] };
    assert.deepEqual([one.names.length, one.clients.length], [1, 1]);
  });
});

describe('the routes take any query string without failing', () => {
  test('random values for every parameter answer 200 or a 400 with a reason, never a 500', async () => {
    let seed = 10;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pieces = ['', '-1', '0', '1', '1e309', 'NaN', '24h', '-5m', '9999999999d', 'true', 'yes', '%', '_', "'; DROP TABLE queries; --", '\u0000', 'a'.repeat(300), '02:00:00:00:00:0B', '::1', 'é.example', '..', '.'];
    const params = ['client', 'blocked', 'domain', 'since', 'until', 'limit', 'other'];
    for (let i = 0; i < 150; i++) {
      const q = new URLSearchParams();
      for (const p of params) if (rnd() < 0.4) q.set(p, pieces[Math.floor(rnd() * pieces.length)]!);
      for (const path of ['/v1/dns/log', '/v1/dns/top']) {
        const r = await fetch(`${admin.tcpAddress}${path}?${q}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        const body = (await r.json()) as { error?: string };
        assert.ok(r.status === 200 || (r.status === 400 && typeof body.error === 'string' && body.error.length > 0), `${path}?${q} → ${r.status} ${JSON.stringify(body)}`);
      }
    }
    // Nothing was lost to a hostile value.
    assert.equal((await log.query({ limit: 100 })).length, 4);
  });
});
