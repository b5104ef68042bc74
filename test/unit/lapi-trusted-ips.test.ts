import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromObject } from '../../src/config/index.js';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { startExtraServers } from '../../src/daemon/extras.js';
import { LapiCredentials } from '../../src/store/lapi-credentials.js';
import { lapiMigrations } from '../../src/store/lapi-schema.js';

async function serve(trusted: string[] | undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-lapi-trust-'));
  const cfg = configFromObject(
    {
      data_dir: dir,
      firewall: { inbound: 'off', outbound: 'off' },
      lapi: { listen: '127.0.0.1:0', ...(trusted ? { trusted_ips: trusted } : {}) },
    },
    'test.yaml',
  );
  const store = openDecisionStore(dir, { migrations: [lapiMigrations] });
  const creds = new LapiCredentials(store.db);
  const key = creds.addBouncer('fw');
  store.service.add({ value: '198.51.100.7', origin: 'manual' });
  const servers = await startExtraServers(cfg, store, creds);
  return {
    url: servers.lapiAddress!,
    key,
    async close() {
      await servers.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('lapi.trusted_ips', () => {
  it('serves a bouncer on a trusted address', async () => {
    const s = await serve(['127.0.0.0/8']);
    try {
      const r = await fetch(`${s.url}/v1/decisions/stream?startup=true`, { headers: { 'X-Api-Key': s.key } });
      assert.equal(r.status, 200);
      assert.match(await r.text(), /198\.51\.100\.7/);
    } finally {
      await s.close();
    }
  });

  it('refuses a valid key from an address outside the list, with CrowdSec\'s 403 body', async () => {
    const s = await serve(['192.0.2.0/24']);
    try {
      const r = await fetch(`${s.url}/v1/decisions/stream?startup=true`, { headers: { 'X-Api-Key': s.key } });
      assert.equal(r.status, 403);
      assert.equal(await r.text(), '{"message":"access forbidden"}');
    } finally {
      await s.close();
    }
  });

  it('without the key set, the key alone decides', async () => {
    const s = await serve(undefined);
    try {
      const ok = await fetch(`${s.url}/v1/decisions`, { headers: { 'X-Api-Key': s.key } });
      assert.equal(ok.status, 200);
      const bad = await fetch(`${s.url}/v1/decisions`, { headers: { 'X-Api-Key': 'nope' } });
      assert.equal(bad.status, 403);
    } finally {
      await s.close();
    }
  });
});
