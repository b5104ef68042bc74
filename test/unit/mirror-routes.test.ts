import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { request } from 'undici';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { MirrorDecisionReads, mirrorRoutes, prepareEndpoints, MirrorConfigError } from '../../src/crowdsec/mirror/index.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function setup(t: import('node:test').TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-mirror-'));
  const store = openDecisionStore(dir);
  store.service.add({ value: '192.0.2.10', origin: 'crowdsec', scenario: 'crowdsecurity/ssh-bf', durationSec: 3600 });
  store.service.add({ value: '198.51.100.0/24', origin: 'feed:drop', scenario: 'drop', durationSec: 7200 });
  store.service.add({ value: '2001:db8::10', origin: 'manual', scenario: 'manual' });
  const app = Fastify();
  await app.register(mirrorRoutes({
    decisions: new MirrorDecisionReads(store.db),
    endpoints: [
      { path: '/security/blocklist', format: 'plain_text', auth: 'none' },
      { path: '/fw/juniper.txt', format: 'juniper', auth: 'basic', users: [{ user: 'srx', password_sha256: sha('s3cret') }] },
      { path: '/fw/mikrotik', format: 'mikrotik', auth: 'ip_based', trusted_ips: ['127.0.0.0/8'] },
      { path: '/fw/denied', format: 'f5', auth: 'ip_based', trusted_ips: ['203.0.113.0/24'] },
    ],
  }));
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { base, store };
}

test('plain_text endpoint over HTTP, with query filters and gzip', async (t) => {
  const { base } = await setup(t);
  const r = await request(`${base}/security/blocklist`);
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  assert.equal(await r.body.text(), '192.0.2.10\n198.51.100.0/24\n2001:db8::10\n');
  const v6 = await request(`${base}/security/blocklist?ipv6only`);
  assert.equal(await v6.body.text(), '2001:db8::10\n');
  const gz = await request(`${base}/security/blocklist?origin=CROWDSEC`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(Buffer.from(await gz.body.arrayBuffer())).toString(), '192.0.2.10\n');
  const none = await request(`${base}/security/blocklist?origin=nobody`);
  assert.equal(none.statusCode, 404);
  assert.match(await none.body.text(), /no decisions available/);
});

test('basic auth: 401 with realm when missing, 403 when wrong, 200 when right', async (t) => {
  const { base } = await setup(t);
  const missing = await request(`${base}/fw/juniper.txt`);
  assert.equal(missing.statusCode, 401);
  assert.equal(missing.headers['www-authenticate'], 'Basic realm="crowdsec-blocklist-mirror"');
  await missing.body.dump();
  const auth = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
  const wrong = await request(`${base}/fw/juniper.txt`, { headers: auth('srx', 'nope') });
  assert.equal(wrong.statusCode, 403);
  await wrong.body.dump();
  const unknownUser = await request(`${base}/fw/juniper.txt`, { headers: auth('bob', 's3cret') });
  assert.equal(unknownUser.statusCode, 403);
  await unknownUser.body.dump();
  const ok = await request(`${base}/fw/juniper.txt`, { headers: auth('srx', 's3cret') });
  assert.equal(ok.statusCode, 200);
  assert.equal(await ok.body.text(), '192.0.2.10/32\n198.51.100.0/24\n2001:db8::10/128\n');
});

test('ip_based auth: loopback trusted gets the mikrotik script, others get 403', async (t) => {
  const { base, store } = await setup(t);
  const ok = await request(`${base}/fw/mikrotik?ipv4only&listname=gh`);
  assert.equal(ok.statusCode, 200);
  const text = await ok.body.text();
  assert.match(text, /^\$CrowdSecAddIP "192\.0\.2\.10" "crowdsecurity\/ssh-bf" "(59m5\d|1h0m0)s"$/m);
  assert.ok(text.includes('list="gh"') && !text.includes('ipv6'));
  const denied = await request(`${base}/fw/denied`);
  assert.equal(denied.statusCode, 403);
  await denied.body.dump();
  // A decision deleted in the store disappears from the next fetch.
  store.service.deleteWhere({ value: '192.0.2.10' });
  const after = await request(`${base}/fw/mikrotik?ipv4only`);
  assert.ok(!(await after.body.text()).includes('192.0.2.10'));
});

test('bad endpoint config fails at startup with a clear message', () => {
  assert.throws(() => prepareEndpoints([{ path: '/a', format: 'plain_text', auth: 'basic', users: [{ user: 'u', password_sha256: 'secret' }] }]),
    (e: unknown) => e instanceof MirrorConfigError && /64 hex digits/.test(e.message));
  assert.throws(() => prepareEndpoints([{ path: '/a', format: 'plain_text', auth: 'ip_based', trusted_ips: ['10.0.0.0/33'] }]), /trusted_ips/);
  assert.throws(() => prepareEndpoints([{ path: '/a', format: 'csv' as 'json', auth: 'none' }]), /unknown format/);
  assert.throws(() => prepareEndpoints([{ path: '/a', format: 'json', auth: 'none' }, { path: '/a', format: 'json', auth: 'none' }]), /used twice/);
});

test('a list longer than a page comes out whole, sorted, and the server answers other requests meanwhile', async (t) => {
  const { base, store } = await setup(t);
  // 25,000 addresses over three pages of the store, plus a value held by two origins right where a page ends.
  const values = Array.from({ length: 25_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  store.service.addMany(values.map((value) => ({ value, origin: 'feed:big' })));
  store.service.add({ value: values[9_999]!, origin: 'cscli' });
  const download = request(`${base}/security/blocklist?ipv4only`).then((r) => r.body.text());
  const other = await request(`${base}/security/blocklist?origin=cscli`);
  assert.equal(await other.body.text(), `${values[9_999]}\n`);
  const lines = (await download).trimEnd().split('\n');
  const want = [...values, values[9_999]!, '192.0.2.10', '198.51.100.0/24'].sort();
  assert.equal(lines.length, want.length);
  assert.deepEqual(lines, want);
});
