import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { startAdminServers } from '../../src/api/server.js';
import { adminRoutes } from '../../src/api/admin-routes.js';
import { NO_STATUS } from './helpers/status.js';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { BlockEventRepo } from '../../src/store/block-events.js';

function viaSocket(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('admin API authentication', () => {
  it('needs the bearer token on TCP, and only the socket file mode on the Unix socket', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-api-auth-'));
    const store = openDecisionStore(dir);
    const token = 'correct horse battery staple';
    const servers = await startAdminServers(
      adminRoutes({
        decisions: store.service,
        blocks: new BlockEventRepo(store.db),
        enforced: async () => undefined,
        collect: async () => undefined,
        status: () => NO_STATUS,
      }),
      { socket: join(dir, 'api.sock'), listen: '127.0.0.1:0', tokenSha256: createHash('sha256').update(token).digest('hex') },
    );
    t.after(async () => {
      await servers.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const url = `${servers.tcpAddress}/v1/decisions`;
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    // A write without the token changes nothing.
    const w = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: '192.0.2.1' }) });
    assert.equal(w.status, 401);
    assert.equal(store.service.count(), 0);

    assert.equal(statSync(join(dir, 'api.sock')).mode & 0o777, 0o600, 'socket only for its owner');
    assert.equal(await viaSocket(join(dir, 'api.sock'), '/v1/decisions'), 200);
  });

  it('refuses to listen on TCP without a token hash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-api-auth-'));
    const store = openDecisionStore(dir);
    try {
      await assert.rejects(
        startAdminServers(
          adminRoutes({ decisions: store.service, blocks: new BlockEventRepo(store.db), enforced: async () => undefined, collect: async () => undefined, status: () => NO_STATUS }),
          { socket: join(dir, 'api.sock'), listen: '127.0.0.1:0' },
        ),
        /token_sha256/,
      );
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers malformed requests with 400 and a message, and keeps serving', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-api-bad-'));
    const store = openDecisionStore(dir);
    const servers = await startAdminServers(
      adminRoutes({ decisions: store.service, blocks: new BlockEventRepo(store.db), enforced: async () => undefined, collect: async () => undefined, status: () => NO_STATUS }),
      { socket: join(dir, 'api.sock'), listen: '127.0.0.1:0', tokenSha256: createHash('sha256').update('t').digest('hex') },
    );
    t.after(async () => {
      await servers.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const h = { authorization: 'Bearer t', 'content-type': 'application/json' };
    for (const body of ['{not json', JSON.stringify({ value: 'garbage' }), JSON.stringify({ value: '192.0.2.1', direction: 'sideways' }), JSON.stringify({ value: '192.0.2.1', extra: 1 })]) {
      const r = await fetch(`${servers.tcpAddress}/v1/decisions`, { method: 'POST', headers: h, body });
      assert.equal(r.status, 400, body);
      assert.equal(typeof ((await r.json()) as { error: unknown }).error, 'string');
    }
    const ok = await fetch(`${servers.tcpAddress}/v1/decisions`, { method: 'POST', headers: h, body: JSON.stringify({ value: '192.0.2.1' }) });
    assert.equal(ok.status, 201);
    assert.equal(store.service.count(), 1);
  });
});
