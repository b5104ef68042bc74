/**
 * Issue #8 finding 6, in a real gateway: the daemon makes its data dir private even when it already existed
 * with 0755, and an import interrupted by kill -9 leaves only whole chunks behind (store and kernel agree
 * after the restart), and running the same import again completes it with no duplicate decision.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawnInNs } from '../../src/lab/ns.js';
import Database from 'better-sqlite3';
import { CLI_PATH } from '../../src/lab/gateway-runner.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';

const N = 400_000;
/** Distinct public IPv4 addresses, 45.0.0.0 upwards (the lab has no route to the real internet). */
const address = (i: number) => `45.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('data dir permissions and an interrupted import', { skip: skipReason, timeout: 600_000 }, () => {
  let g: GatewayLab;
  let dataDir: string;

  before(async () => {
    g = await GatewayLab.start('n6di', { lapi: { listen: '127.0.0.1:18081' } });
    dataDir = join(g.dir, 'data');
  });
  after(async () => {
    if (g) await g.close();
  });

  /** Active decisions of `origin` in the store, read straight from SQLite (WAL readers never block the daemon). */
  function storeCounts(origin: string): { rows: number; values: number } {
    const db = new Database(join(dataDir, 'gatehouse.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT count(*) AS rows, count(DISTINCT value) AS "values" FROM decisions WHERE deleted_at IS NULL AND origin = ?').get(origin) as { rows: number; values: number };
    } finally {
      db.close();
    }
  }

  /** The tests after the first need a running daemon; the first starts it itself (on a data dir it prepared). */
  async function ensureDaemon(): Promise<void> {
    const d = g.daemon;
    if (!d || d.exitCode !== null || d.signalCode !== null) await g.startDaemon();
  }

  async function kernelCount(): Promise<number> {
    const j = JSON.parse(await g.nft(['-j', 'list', 'set', 'inet', 'gatehouse', 'both_ip4'])) as { nftables: { set?: { elem?: unknown[] } }[] };
    return j.nftables.find((x) => x.set)?.set?.elem?.length ?? 0;
  }

  test('a data dir that exists with 0755 is made 0700 and its files 0600, and the log says so', async () => {
    mkdirSync(dataDir, { mode: 0o755 });
    assert.equal(mode(dataDir), '755');
    writeFileSync(join(dataDir, 'lapi-jwt.key'), Buffer.alloc(48, 1), { mode: 0o644 });
    await g.startDaemon();
    assert.equal((await g.cli(['decisions', 'add', '198.51.100.99', '--duration', '1h'])).code, 0);
    assert.equal(mode(dataDir), '700', 'data dir');
    for (const f of ['gatehouse.db', 'gatehouse.db-wal', 'gatehouse.db-shm', 'lapi-jwt.key']) assert.equal(mode(join(dataDir, f)), '600', f);
    assert.match(await g.log(), /tightened permissions of \S+data from 755 to 700/);
    assert.match(await g.log(), /tightened permissions of \S+lapi-jwt\.key from 644 to 600/);
  });

  test('kill -9 during an import: whole chunks stay, store and kernel agree after the restart, and re-running completes it without duplicates', async () => {
    const file = join(g.dir, 'big.txt');
    writeFileSync(file, Array.from({ length: N }, (_, i) => address(i)).join('\n') + '\n');
    const origin = 'manual';
    await ensureDaemon();
    const already = storeCounts(origin).rows; // the one decision of the previous test, when it ran

    // The import, as an admin would run it; the daemon is killed once the store holds part of it.
    let cliExit: { code: number; stderr: string } | undefined;
    const cli: ChildProcess = execFile(process.execPath, [CLI_PATH, 'decisions', 'import', file, '--duration', '24h', '--config', g.configFile], { timeout: 300_000 }, (err, _out, stderr) => {
      cliExit = { code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr };
    });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const n = storeCounts(origin).rows - already;
      if (n > 0) break;
      assert.ok(Date.now() < deadline && cliExit === undefined, `the import never reached the store (${JSON.stringify(cliExit)})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await g.stopDaemon('SIGKILL');
    await new Promise<void>((r) => (cliExit ? r() : cli.once('exit', () => r())));
    await new Promise((r) => setImmediate(r));
    assert.notEqual(cliExit?.code, 0, 'the client saw the import fail');

    await g.startDaemon(60_000);
    const left = storeCounts(origin);
    const partial = left.rows - already;
    process.stdout.write(`# after kill -9 and restart: ${partial} of ${N} imported lines in the store\n`);
    assert.ok(partial > 0 && partial < N, `the kill should have interrupted the import (${partial} of ${N})`);
    assert.equal(left.rows, left.values, 'no duplicate decisions');
    assert.equal(await kernelCount(), left.rows, 'the kernel holds exactly what the store holds after the reconcile');

    // Re-running the same import is safe and completes it.
    const again = await g.cli(['decisions', 'import', file, '--duration', '24h', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const r = JSON.parse(again.stdout) as { added: number; updated: number; skipped: number };
    assert.equal(r.added, N - partial, 'only the missing lines are new');
    assert.equal(r.added + r.updated, N);
    const done = storeCounts(origin);
    assert.equal(done.rows, N + already, 'every line once');
    assert.equal(done.values, done.rows, 'no duplicate decisions');
    assert.equal(await kernelCount(), done.rows, 'the kernel holds the full list');
    // …and a second complete run changes nothing but expiries.
    const third = JSON.parse((await g.cli(['decisions', 'import', file, '--duration', '24h', '--json'])).stdout) as { added: number };
    assert.equal(third.added, 0);
    assert.equal(storeCounts(origin).rows, N + already);
  });

  /** One admin `GET /v1/status` over the Unix socket, in ms. */
  function statusLatency(): Promise<number> {
    const t0 = performance.now();
    return new Promise((done, fail) => {
      const req = request({ socketPath: join(dataDir, 'api.sock'), path: '/v1/status' }, (res) => {
        res.resume();
        res.on('end', () => done(performance.now() - t0));
      });
      req.on('error', fail);
      req.end();
    });
  }

  test('the daemon keeps answering the admin API while a watcher pushes the largest accepted import (47 MB)', async () => {
    await ensureDaemon();
    const m = await g.cliJson<{ password: string }>(['machines', 'add', 'h4-watcher']);
    const decisions = Array.from({ length: 470_000 }, (_, i) => ({ duration: '4h', origin: 'cscli', scenario: 'import', scope: 'Ip', type: 'ban', value: address(N + i) }));
    const json = JSON.stringify([{ scenario: 'import', decisions, events: [], source: { scope: 'Ip', value: '' } }]);
    assert.ok(json.length > 45 * 1024 * 1024 && json.length < 50 * 1024 * 1024, `${json.length} bytes`);
    const body = join(g.dir, 'import-alert.json.gz');
    writeFileSync(body, gzipSync(json));
    // The watcher, inside the gateway's namespace where the LAPI listens.
    const script = `
      const base = 'http://127.0.0.1:18081/v1';
      const login = await fetch(base + '/watchers/login', { method: 'POST', body: JSON.stringify({ machine_id: 'h4-watcher', password: process.env.PW }) });
      const { token } = await login.json();
      const body = (await import('node:fs')).readFileSync(process.env.BODY);
      const r = await fetch(base + '/alerts', { method: 'POST', headers: { authorization: 'Bearer ' + token, 'content-encoding': 'gzip', 'content-type': 'application/json' }, body });
      process.stdout.write(JSON.stringify({ status: r.status }));
    `;
    const watcher = spawnInNs(g.topo.namespaces.gw, process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, PW: m.password, BODY: body } });
    let out = '';
    watcher.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const started = performance.now();
    const exited = new Promise<void>((r) => watcher.once('exit', () => r()));
    let done = false;
    void exited.then(() => (done = true));
    let worst = 0;
    let polls = 0;
    while (!done) {
      worst = Math.max(worst, await statusLatency());
      polls++;
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20))]);
    }
    const total = performance.now() - started;
    process.stdout.write(`# admin GET /v1/status during a 47 MB LAPI import (${total.toFixed(0)} ms): worst ${worst.toFixed(0)} ms over ${polls} calls\n`);
    assert.equal((JSON.parse(out) as { status: number }).status, 201, out);
    assert.equal(storeCounts('lapi:h4-watcher').rows, 470_000);
    // Relative, not absolute: a busy machine stretches both. Stored in one go, the import held the admin
    // API for nearly all of its time (6.9 s of ~7.5 s); stored in chunks, no wait comes near that.
    assert.ok(worst < total / 2, `admin status waited ${worst.toFixed(0)} ms of the import's ${total.toFixed(0)} ms`);
  });
});
