import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { adminRoutes } from '../../src/api/admin-routes.js';
import { startAdminServers } from '../../src/api/server.js';
import { EnforcementView } from '../../src/decisions/enforcement-view.js';
import { InputError, openDecisionStore, type DecisionStore } from '../../src/decisions/store-service.js';
import { Enforcer } from '../../src/firewall/enforcer.js';
import { elementText } from '../../src/firewall/elements.js';
import type { NftRunner } from '../../src/firewall/nft.js';
import { KERNEL_TIMEOUT_CAP_SEC } from '../../src/firewall/timeout.js';
import { BlockEventRepo } from '../../src/store/block-events.js';

const T0 = 1_700_000_000_000;
const OPTS = { table: 'gatehouse', lan: ['lan0'], wan: ['wan0'], inbound: 'enforce', outbound: 'enforce', hitTimeoutSec: 3600, hitSetSize: 65536 } as const;
/** What nft 1.0.6 accepts in `timeout Ns` (measured: 99999999s is accepted, 100000000s is "value too large"). */
const NFT_MAX_SEC = 99_999_999;
/** Durations seen to freeze enforcement in issue #8, as seconds. */
const ABSURD = [1158 * 86400, 1e308, 1e15, 4294967296, 9_223_372_036.854775807, 30000 * 3600];

function store(t: TestContext, clock = (): number => T0): DecisionStore {
  const dir = mkdtempSync(join(tmpdir(), 'gh-h1-'));
  const s = openDecisionStore(dir, { clock });
  t.after(() => {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

/** Every element's `timeout Ns` in a script, as numbers. */
function timeouts(script: string): number[] {
  const elementLines = script.split('\n').filter((l) => l.startsWith('add element'));
  return elementLines.flatMap((l) => [...l.matchAll(/timeout (\S+?)s\b/g)].map((m) => Number(m[1])));
}

describe('kernel timeouts: rendered within what nft and the kernel hold', () => {
  it('elementText clamps any timeout to the cap and never renders a non-integer', () => {
    assert.ok(KERNEL_TIMEOUT_CAP_SEC <= NFT_MAX_SEC);
    for (const sec of [1e9, 1e308, Infinity, NaN, 4294967296, NFT_MAX_SEC + 1]) {
      assert.equal(elementText({ value: '192.0.2.1', timeoutSec: sec }), `192.0.2.1 timeout ${KERNEL_TIMEOUT_CAP_SEC}s`, String(sec));
    }
    assert.equal(elementText({ value: '192.0.2.1', timeoutSec: 0.2 }), '192.0.2.1 timeout 1s');
    assert.equal(elementText({ value: '192.0.2.1', timeoutSec: 30 }), '192.0.2.1 timeout 30s');
  });

  it('a full reconcile of absurdly long decisions renders only timeouts nft accepts', async (t) => {
    const s = store(t);
    for (const [i, d] of ABSURD.entries()) s.service.add({ value: `192.0.2.${i + 1}`, origin: 'crowdsec', durationSec: d });
    const scripts: string[] = [];
    const nft: NftRunner = { apply: async (sc) => void scripts.push(sc), listSet: async () => undefined, hasTable: async () => false };
    const e = new Enforcer(new EnforcementView(s.db, () => T0), nft, OPTS, { info: () => undefined, error: () => undefined }, () => T0);
    await e.reconcile();
    const ts = timeouts(scripts[0]!);
    assert.equal(ts.length, ABSURD.length);
    for (const sec of ts) assert.ok(Number.isInteger(sec) && sec >= 1 && sec <= KERNEL_TIMEOUT_CAP_SEC, `timeout ${sec}s`);
  });
});

describe('the store never holds a non-finite or unsafe expiry', () => {
  it('add and addAllow refuse NaN, Infinity, zero and negative durations with an InputError', (t) => {
    const s = store(t).service;
    for (const d of [NaN, Infinity, -Infinity, -5, 0]) {
      assert.throws(() => s.add({ value: '192.0.2.1', origin: 'manual', durationSec: d }), InputError, String(d));
      assert.throws(() => s.addAllow({ value: '192.0.2.1', durationSec: d }), InputError, String(d));
    }
    assert.equal(s.count(), 0);
    assert.equal(s.listAllow().length, 0);
  });

  it('clamps absurd but finite durations to an expiry that is a safe integer of ms', (t) => {
    const s = store(t).service;
    for (const [i, d] of ABSURD.entries()) {
      const dec = s.add({ value: `192.0.2.${i + 1}`, origin: 'crowdsec', durationSec: d });
      assert.ok(Number.isSafeInteger(dec.expiresAt), `${d}: ${dec.expiresAt}`);
      assert.ok(dec.expiresAt! > T0);
      const a = s.addAllow({ value: `198.51.100.${i + 1}`, durationSec: d });
      assert.ok(Number.isSafeInteger(a.expiresAt), `allow ${d}: ${a.expiresAt}`);
    }
    // Read back from SQLite (not just the returned object): still finite.
    for (const d of s.list()) assert.ok(Number.isSafeInteger(d.expiresAt), `${d.value}: ${d.expiresAt}`);
  });

  it('addMany and replaceOrigin skip and count non-finite durations, and clamp absurd ones', (t) => {
    const s = store(t).service;
    const r = s.addMany([
      { value: '192.0.2.1', origin: 'feed:x', durationSec: NaN },
      { value: '192.0.2.2', origin: 'feed:x', durationSec: Infinity },
      { value: '192.0.2.3', origin: 'feed:x', durationSec: 1e308 },
      { value: '192.0.2.4', origin: 'feed:x', durationSec: 60 },
    ]);
    assert.equal(r.added, 2);
    assert.equal(r.skipped, 2);
    assert.match(r.skippedSamples[0]!.why, /duration/);
    const rep = s.replaceOrigin('feed:y', [
      { value: '192.0.2.5', origin: 'feed:y', durationSec: -1 },
      { value: '192.0.2.6', origin: 'feed:y', durationSec: 1e15 },
    ]);
    assert.equal(rep.added, 1);
    assert.equal(rep.skipped, 1);
    for (const d of s.list()) assert.ok(Number.isSafeInteger(d.expiresAt), `${d.value}: ${d.expiresAt}`);
  });
});

describe('admin API: durations the gateway cannot hold are refused with a clear error', () => {
  async function api(t: TestContext) {
    const dir = mkdtempSync(join(tmpdir(), 'gh-h1-api-'));
    const st = openDecisionStore(dir);
    const token = 'h1 token';
    const servers = await startAdminServers(
      adminRoutes({ decisions: st.service, blocks: new BlockEventRepo(st.db), enforced: async () => undefined, collect: async () => undefined, status: () => ({}) }),
      { socket: join(dir, 'api.sock'), listen: '127.0.0.1:0', tokenSha256: createHash('sha256').update(token).digest('hex') },
    );
    t.after(async () => {
      await servers.close();
      st.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const call = async (method: string, path: string, body?: unknown, type = 'application/json') => {
      const r = await fetch(`${servers.tcpAddress}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': type } : {}) },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      return { status: r.status, text: await r.text() };
    };
    return { st, call };
  }

  const refusal = /longer than the longest .*1000d.*omit the duration/i;

  it('POST /v1/decisions refuses 1158d, 1e308, 1e15 and 4294967296 and stores nothing', async (t) => {
    const { st, call } = await api(t);
    for (const duration of ['1158d', 1e308, 1e15, 4294967296, '2562047h47m16.854775807s', '30000h']) {
      const r = await call('POST', '/v1/decisions', { value: '203.0.113.80', duration });
      assert.equal(r.status, 400, `${duration}: ${r.text}`);
      assert.match(r.text, refusal, String(duration));
    }
    assert.equal(st.service.count(), 0);
    const ok = await call('POST', '/v1/decisions', { value: '203.0.113.81', duration: '1000d' });
    assert.equal(ok.status, 201, ok.text);
  });

  it('import and allow refuse them too', async (t) => {
    const { st, call } = await api(t);
    const imp = await call('POST', '/v1/decisions/import?duration=1158d', '203.0.113.80\n', 'text/plain');
    assert.equal(imp.status, 400, imp.text);
    assert.match(imp.text, refusal);
    const imp2 = await call('POST', '/v1/decisions/import?duration=4294967296s', '203.0.113.80\n', 'text/plain');
    assert.equal(imp2.status, 400, imp2.text);
    for (const duration of ['1158d', 1e308]) {
      const al = await call('POST', '/v1/allow', { value: '198.51.100.1', duration });
      assert.equal(al.status, 400, al.text);
      assert.match(al.text, refusal);
    }
    assert.equal(st.service.count(), 0);
    assert.equal(st.service.listAllow().length, 0);
  });
});

describe('a store written before the fix', () => {
  it('has its infinite and unsafe expiries brought within the maximum when it is opened', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-h1-old-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const old = openDecisionStore(dir, { clock: () => T0 });
    const ids = ['192.0.2.1', '192.0.2.2'].map((value) => old.service.add({ value, origin: 'manual', durationSec: 60 }).id);
    old.service.addAllow({ value: '198.51.100.1', durationSec: 60 });
    // What the unfixed store wrote for JSON durations of 1e308 and 1e15.
    old.db.prepare('UPDATE decisions SET expires_at = ? WHERE id = ?').run(Infinity, ids[0]);
    old.db.prepare('UPDATE decisions SET expires_at = ? WHERE id = ?').run(T0 + 1e18, ids[1]);
    old.db.prepare('UPDATE allow_entries SET expires_at = ?').run(Infinity);
    old.close();
    const s = openDecisionStore(dir, { clock: () => T0 });
    try {
      const ds = s.service.list();
      assert.equal(ds.length, 2);
      for (const d of ds) assert.ok(Number.isSafeInteger(d.expiresAt) && d.expiresAt! > T0, `${d.value}: ${d.expiresAt}`);
      for (const a of s.service.listAllow()) assert.ok(Number.isSafeInteger(a.expiresAt), `${a.value}: ${a.expiresAt}`);
    } finally {
      s.close();
    }
  });
});
