/**
 * Issue #8, finding 2 at unit level, on loopback (127.x.y.z source addresses stand in for LAN clients):
 * every listener caps connections per client and in total, closes a request whose headers never finish,
 * and a listen that fails names its config key.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { configFromObject } from '../../src/config/index.js';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { startExtraServers } from '../../src/daemon/extras.js';
import { LapiCredentials } from '../../src/store/lapi-credentials.js';
import { lapiMigrations } from '../../src/store/lapi-schema.js';
import { startAdminServers } from '../../src/api/server.js';
import { adminRoutes } from '../../src/api/admin-routes.js';
import { BlockEventRepo } from '../../src/store/block-events.js';

/** Client connections that send a partial request and stay open; counts the ones the server closes. */
class Crowd {
  readonly sockets: Socket[] = [];
  closedByServer = 0;
  private stopping = false;

  async open(target: { host: string; port: number } | { path: string }, count: number, source?: string): Promise<void> {
    await Promise.all(
      Array.from({ length: count }, () =>
        new Promise<void>((resolve) => {
          const s = 'path' in target ? connect({ path: target.path }) : connect({ ...target, ...(source ? { localAddress: source } : {}) });
          this.sockets.push(s);
          s.on('error', () => undefined);
          s.resume();
          s.once('connect', () => {
            s.write('GET /v1/decisions HTTP/1.1\r\nHost: x\r\n');
            resolve();
          });
          s.once('close', () => {
            if (!this.stopping) this.closedByServer++;
            resolve();
          });
        }),
      ),
    );
  }

  get held(): number {
    return this.sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
  }

  close(): void {
    this.stopping = true;
    for (const s of this.sockets) s.destroy();
  }
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function get(url: string, headers: Record<string, string> = {}, source?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false, ...(source ? { localAddress: source } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

async function extras(over: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-h2-listen-'));
  const cfg = configFromObject(
    {
      data_dir: dir,
      firewall: { inbound: 'off', outbound: 'off' },
      lapi: { listen: '127.0.0.1:0' },
      mirror: { listen: '127.0.0.1:0', endpoints: [{ path: '/list', auth: 'none' }] },
      ...over,
    },
    'test.yaml',
  );
  const store = openDecisionStore(dir, { migrations: [lapiMigrations] });
  const creds = new LapiCredentials(store.db);
  const key = creds.addBouncer('fw');
  store.service.add({ value: '198.51.100.7', origin: 'manual' });
  const servers = await startExtraServers(cfg, store, creds);
  const port = (u: string) => Number(new URL(u).port);
  return {
    lapi: { host: '127.0.0.1', port: port(servers.lapiAddress!) },
    mirror: { host: '127.0.0.1', port: port(servers.mirrorAddress!) },
    key,
    async close() {
      await servers.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('listener limits', () => {
  it('one client cannot hold more than its share of the LAPI; another client is still served', async (t) => {
    const s = await extras();
    const crowd = new Crowd();
    t.after(async () => {
      crowd.close();
      await s.close();
    });
    await crowd.open(s.lapi, 300, '127.0.0.2');
    await until('the connections over the per-client cap to be closed', () => crowd.closedByServer >= 300 - 128, 5000);
    assert.equal(crowd.held, 128);
    const url = `http://127.0.0.1:${s.lapi.port}/v1/decisions/stream?startup=true`;
    assert.equal(await get(url, { 'X-Api-Key': s.key }, '127.0.0.3'), 200);
  });

  it('many clients together cannot hold more than the listener cap; the other listeners still answer', async (t) => {
    const s = await extras();
    const crowd = new Crowd();
    t.after(async () => {
      crowd.close();
      await s.close();
    });
    // 12 addresses × 120: under the per-client cap each, 1,440 together, over the LAPI's 1,024.
    for (let i = 0; i < 12; i++) await crowd.open(s.lapi, 120, `127.0.1.${i + 1}`);
    await until('the connections over the listener cap to be closed', () => crowd.closedByServer >= 12 * 120 - 1024, 5000);
    assert.ok(crowd.held <= 1024, `${crowd.held} open`);
    assert.equal(await get(`http://127.0.0.1:${s.mirror.port}/list`, {}, '127.0.2.1'), 200);
  });

  it('the mirror caps a client at 16 connections', async (t) => {
    const s = await extras();
    const crowd = new Crowd();
    t.after(async () => {
      crowd.close();
      await s.close();
    });
    await crowd.open(s.mirror, 100, '127.0.0.4');
    await until('the connections over the per-client cap to be closed', () => crowd.closedByServer >= 100 - 16, 5000);
    assert.equal(crowd.held, 16);
    assert.equal(await get(`http://127.0.0.1:${s.mirror.port}/list`, {}, '127.0.0.5'), 200);
  });

  it('a request whose headers never end is closed after about 10 s, not held for a minute or more', { timeout: 30_000 }, async (t) => {
    const s = await extras();
    const crowd = new Crowd();
    t.after(async () => {
      crowd.close();
      await s.close();
    });
    const started = Date.now();
    await crowd.open(s.lapi, 1, '127.0.0.6');
    await until('the half-open request to be closed', () => crowd.closedByServer === 1, 13_000);
    const ms = Date.now() - started;
    assert.ok(ms >= 9000, `closed after ${ms} ms: too early for a slow but honest client`);
  });

  it('the admin API: the Unix socket caps its connections, the TCP listener caps each client', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-h2-admin-'));
    const store = openDecisionStore(dir);
    const socket = join(dir, 'api.sock');
    const servers = await startAdminServers(
      adminRoutes({ decisions: store.service, blocks: new BlockEventRepo(store.db), enforced: async () => undefined, collect: async () => undefined, status: () => ({}) }),
      { socket, listen: '127.0.0.1:0', tokenSha256: 'a'.repeat(64) },
    );
    const crowd = new Crowd();
    t.after(async () => {
      crowd.close();
      await servers.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await crowd.open({ path: socket }, 100);
    await until('the socket connections over the cap to be closed', () => crowd.closedByServer >= 100 - 64, 5000);
    assert.equal(crowd.held, 64);
    const tcp = { host: '127.0.0.1', port: Number(new URL(servers.tcpAddress!).port) };
    const tcpCrowd = new Crowd();
    t.after(() => tcpCrowd.close());
    await tcpCrowd.open(tcp, 50, '127.0.0.7');
    await until('the TCP connections over the per-client cap to be closed', () => tcpCrowd.closedByServer >= 50 - 16, 5000);
    assert.equal(tcpCrowd.held, 16);
    // Another client still gets an answer (401: no token) from the TCP listener.
    assert.equal(await get(`${servers.tcpAddress}/v1/decisions`, {}, '127.0.0.8'), 401);
  });
});

describe('a port in use', () => {
  async function occupied(): Promise<{ port: number; close: () => Promise<void> }> {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const port = (srv.address() as { port: number }).port;
    return { port, close: () => new Promise((r) => srv.close(() => r())) };
  }

  it('names the config key and the address (LAPI, mirror)', async (t) => {
    const busy = await occupied();
    t.after(() => busy.close());
    await assert.rejects(extras({ lapi: { listen: `127.0.0.1:${busy.port}` } }), {
      message: `lapi.listen: 127.0.0.1:${busy.port} is already in use (another program, or another gatehouse, listens there)`,
    });
    await assert.rejects(extras({ mirror: { listen: `127.0.0.1:${busy.port}`, endpoints: [{ path: '/list' }] } }), {
      message: new RegExp(`^mirror\\.listen: 127\\.0\\.0\\.1:${busy.port} is already in use`),
    });
  });

  it('names the config key and the address (admin API)', async (t) => {
    const busy = await occupied();
    const dir = mkdtempSync(join(tmpdir(), 'gh-h2-admin-'));
    const store = openDecisionStore(dir);
    t.after(async () => {
      await busy.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const routes = adminRoutes({ decisions: store.service, blocks: new BlockEventRepo(store.db), enforced: async () => undefined, collect: async () => undefined, status: () => ({}) });
    await assert.rejects(startAdminServers(routes, { socket: join(dir, 'api.sock'), listen: `127.0.0.1:${busy.port}`, tokenSha256: 'a'.repeat(64) }), {
      message: new RegExp(`^api\\.listen: 127\\.0\\.0\\.1:${busy.port} is already in use`),
    });
  });
});
