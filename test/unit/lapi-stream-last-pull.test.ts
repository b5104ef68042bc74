/**
 * A bouncer's last pull moves only once its stream was sent whole, as CrowdSec does ("only update the last
 * pull time if no error occurred when sending the decisions, to avoid missing decisions"): a startup stream
 * cut off mid-way must not make the next pull skip what it failed to deliver. Real HTTP on loopback.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { request } from 'undici';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { LapiCredentials } from '../../src/store/lapi-credentials.js';
import { lapiMigrations } from '../../src/store/lapi-schema.js';
import { lapiRoutes } from '../../src/crowdsec/lapi/index.js';

/** Enough decisions that the startup stream (several MB) cannot sit whole in the socket buffers. */
const COUNT = 40_000;

async function server(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'lapi-last-pull-'));
  const store = openDecisionStore(dir, { migrations: [lapiMigrations] });
  const creds = new LapiCredentials(store.db);
  const key = creds.addBouncer('fw');
  const values = Array.from({ length: COUNT }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  store.service.addMany(values.map((value) => ({ value, origin: 'manual', scenario: 'e2e/bulk', durationSec: 3600 })));
  const app = Fastify({ logger: false });
  await app.register(lapiRoutes({ decisions: store.service, events: store.events, credentials: creds, db: store.db, profile: { durationMs: 4 * 3600_000, direction: 'both' }, jwtSecret: Buffer.alloc(32, 5) }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  t.after(async () => {
    await idle(); // the last answer's 'finish' has run (pulls close their connection)
    await app.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const lastPull = () => creds.listBouncers().find((b) => b.name === 'fw')!.lastPull;
  /** Waits until the server has no connection left, i.e. it saw the client go. */
  const idle = async () => {
    for (let i = 0; i < 500; i++) {
      const n = await new Promise<number>((r, j) => app.server.getConnections((e, c) => (e ? j(e) : r(c))));
      if (n === 0) return;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error('the server kept the aborted connection');
  };
  /** Waits until the server recorded a pull that began at or after `since` (it does so once the answer went out). */
  const recorded = async (since: number) => {
    for (let i = 0; i < 500; i++) {
      const at = lastPull();
      if (at !== null && at >= since) return at;
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error(`no pull recorded since ${since}; last pull ${lastPull()}`);
  };
  const pull = async (startup: boolean) => {
    const r = await request(`http://127.0.0.1:${port}/v1/decisions/stream${startup ? '?startup=true' : ''}`, { headers: { 'x-api-key': key }, reset: true });
    assert.equal(r.statusCode, 200);
    return JSON.parse(await r.body.text()) as { deleted: unknown[] | null; new: Array<{ value: string }> | null };
  };
  /** Starts a startup stream, reads its first bytes and hangs up, like a bouncer killed mid-way. */
  const abortedStartup = () =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/v1/decisions/stream?startup=true', headers: { 'x-api-key': key } }, (res) => {
        res.once('data', (chunk: Buffer) => {
          req.destroy();
          resolve(chunk.length);
        });
        res.once('end', () => reject(new Error('the whole stream arrived; nothing was cut off')));
      });
      req.on('error', () => {});
      req.end();
    });
  return { values, lastPull, recorded, idle, pull, abortedStartup };
}

test('a startup stream cut off mid-way leaves the last pull unset: the next pull brings every decision', async (t) => {
  const s = await server(t);
  const got = await s.abortedStartup();
  assert.ok(got > 0 && got < COUNT * 20, `read ${got} bytes before hanging up`);
  await s.idle();
  assert.equal(s.lastPull(), null, 'a pull that was never delivered is not a pull');

  const sent = Date.now();
  const next = await s.pull(false);
  // The delivered pull counts.
  assert.equal(next.new?.length, COUNT, 'the decisions the cut-off stream did not deliver come with the next pull');
  assert.deepEqual(new Set(next.new.map((d) => d.value)), new Set(s.values));
  await s.recorded(sent - 1);
});

test('a startup stream sent whole sets the last pull, so the next pull brings only what changed', async (t) => {
  const s = await server(t);
  const before = Date.now();
  const first = await s.pull(true);
  assert.equal(first.new?.length, COUNT);
  const at = await s.recorded(before - 1);
  const next = await s.pull(false);
  assert.equal(next.new, null, 'nothing new since the delivered stream');
});
