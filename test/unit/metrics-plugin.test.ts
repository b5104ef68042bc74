/*
 * Issue #13: the /metrics plugin the dashboard mounts (token or not), and reading set sizes from nft's JSON.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { Counter, Registry } from 'prom-client';
import { metricsPlugin } from '../../src/metrics/index.js';
import { elementCount, setNames } from '../../src/metrics/kernel-sets.js';

describe('metrics plugin', () => {
  it('serves the registry in text format, behind the bearer token when one is set', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'x_total', help: 'x', registers: [registry] });
    c.inc(3);
    const app = Fastify();
    await app.register(metricsPlugin(registry, { tokenSha256: createHash('sha256').update('s3cret').digest('hex') }));
    assert.equal((await app.inject({ url: '/metrics' })).statusCode, 401);
    assert.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
    const ok = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer s3cret' } });
    assert.equal(ok.statusCode, 200);
    assert.match(ok.headers['content-type'] as string, /text\/plain/);
    assert.match(ok.body, /^x_total 3$/m);
    const open = Fastify();
    await open.register(metricsPlugin(registry, {}));
    assert.equal((await open.inject({ url: '/metrics' })).statusCode, 200, 'no token configured: open (the dashboard puts its own login in front)');
  });

  it('reads set names and sizes from nft -j', () => {
    const sets = { nftables: [{ metainfo: {} }, { set: { family: 'inet', table: 'gatehouse', name: 'both_ip4' } }, { set: { family: 'inet', table: 'other', name: 'x' } }] };
    assert.deepEqual(setNames(sets, 'gatehouse'), ['both_ip4']);
    assert.equal(elementCount({ nftables: [{ metainfo: {} }, { set: { name: 'both_ip4', elem: ['1.2.3.4', '5.6.7.8'] } }] }), 2);
    assert.equal(elementCount({ nftables: [{ set: { name: 'empty' } }] }), 0);
  });
});
