/*
 * Issue #13's last two metrics, their pure parts: the LAPI request labels (route template, never the URL),
 * counted from a real LAPI listener; and the DNS answer-time histogram as the registry prints it, checked
 * with Prometheus's own `promtool check metrics` when it is installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { configFromObject } from '../../src/daemon/index.js';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { lapiRequestLabels, startExtraServers, type LapiRequestLabels } from '../../src/crowdsec/index.js';
import { LapiCredentials } from '../../src/store/lapi-credentials.js';
import { lapiMigrations } from '../../src/store/lapi-schema.js';
import { DNS_LATENCY_BOUNDS, latencyHistograms } from '../../src/dns/index.js';
import { LatencyRecorder, R_BLOCKED, R_FORWARDED } from '../../src/dns/latency.js';
import { histogramSamples, registerSummedHistogram } from '../../src/metrics/summed-histogram.js';

describe('LAPI request labels', () => {
  it('keep the route template and bound method and code', () => {
    assert.deepEqual(lapiRequestLabels('/v1/decisions/stream', 'GET', 200), { route: '/v1/decisions/stream', method: 'GET', code: '200' });
    assert.deepEqual(lapiRequestLabels('/v1/decisions/:decision_id', 'delete', 403), { route: '/v1/decisions/:decision_id', method: 'DELETE', code: '403' });
    assert.deepEqual(lapiRequestLabels('/*', 'GET', 404), { route: 'other', method: 'GET', code: '404' }, 'the catch-all is one label');
    assert.deepEqual(lapiRequestLabels(undefined, 'PROPFIND', 0), { route: 'other', method: 'other', code: 'other' });
  });

  it('are what a real LAPI listener reports: templates for known routes, `other` for any unknown path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-lapi-metrics-'));
    const cfg = configFromObject({ data_dir: dir, firewall: { inbound: 'off', outbound: 'off' }, lapi: { listen: '127.0.0.1:0' } }, 'test.yaml');
    const store = openDecisionStore(dir, { migrations: [lapiMigrations] });
    const creds = new LapiCredentials(store.db);
    const key = creds.addBouncer('fw');
    const seen: LapiRequestLabels[] = [];
    const servers = await startExtraServers(cfg, store, creds, {}, {}, (l) => seen.push(l));
    try {
      const url = servers.lapiAddress!;
      const pull = await fetch(`${url}/v1/decisions/stream?startup=true`, { headers: { 'X-Api-Key': key } });
      assert.equal(pull.status, 200);
      const badKey = await fetch(`${url}/v1/decisions/stream?startup=false`, { headers: { 'X-Api-Key': 'wrong' } });
      assert.ok(badKey.status >= 400);
      const del = await fetch(`${url}/v1/decisions/12345`, { method: 'DELETE', headers: { 'X-Api-Key': key } });
      assert.ok(del.status >= 400, 'a bouncer may not delete');
      const probes = await Promise.all(['/wp-login.php', `/random-${Date.now()}`, '/v1/decisions/stream/x/y'].map((p) => fetch(`${url}${p}`)));
      assert.deepEqual(probes.map((p) => p.status), [404, 404, 404]);
      // onResponse runs after the answer is sent: give it a turn.
      for (let i = 0; i < 50 && seen.length < 6; i++) await new Promise((r) => setTimeout(r, 10));
      const text = seen.map((l) => `${l.method} ${l.route} ${l.code}`);
      assert.deepEqual(text, [
        'GET /v1/decisions/stream 200',
        `GET /v1/decisions/stream ${badKey.status}`,
        `DELETE /v1/decisions/:id ${del.status}`,
        'GET other 404',
        'GET other 404',
        'GET other 404',
      ]);
      assert.ok(!text.some((t) => /wp-login|random|12345/.test(t)), 'no URL reaches a label');
    } finally {
      await servers.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the DNS answer-time histogram', () => {
  const bounds = [0.001, 0.5];

  it('prints buckets cumulatively with +Inf, _sum and _count per series', () => {
    const lines = histogramSamples('h_seconds', bounds, [{ labels: { result: 'cached' }, cumulative: [3, 4], count: 5, sum: 1.25 }]);
    assert.deepEqual(lines.map((l) => [l.metricName, l.labels.le ?? '', l.value]), [
      ['h_seconds_bucket', 0.001, 3],
      ['h_seconds_bucket', 0.5, 4],
      ['h_seconds_bucket', '+Inf', 5],
      ['h_seconds_sum', '', 1.25],
      ['h_seconds_count', '', 5],
    ]);
    assert.throws(() => histogramSamples('h_seconds', bounds, [{ labels: {}, cumulative: [1], count: 1, sum: 0 }]), /1 bucket counts for 2 bounds/);
  });

  it('reads the counts at each scrape and prints what prom-client\'s own Histogram prints for the same observations', async () => {
    const rec = new LatencyRecorder();
    const registry = new Registry();
    registerSummedHistogram(registry, {
      name: 'gatehouse_dns_query_duration_seconds',
      help: 'answer time',
      bounds: DNS_LATENCY_BOUNDS,
      read: () => latencyHistograms(rec.snapshot()).filter((h) => h.count > 0).map((h) => ({ labels: { result: h.result }, cumulative: h.cumulative, count: h.count, sum: h.sumSeconds })),
    });
    const reference = new Registry();
    const ref = new Histogram({ name: 'gatehouse_dns_query_duration_seconds', help: 'answer time', labelNames: ['result'], buckets: [...DNS_LATENCY_BOUNDS], registers: [reference] });
    const empty = await registry.metrics();
    assert.doesNotMatch(empty, /_count/);
    for (const [r, result, ms] of [[R_BLOCKED, 'blocked', 0.02], [R_BLOCKED, 'blocked', 0.75], [R_FORWARDED, 'forwarded', 12], [R_FORWARDED, 'forwarded', 3000]] as const) {
      rec.observe(r, ms);
      ref.observe({ result }, ms / 1000);
    }
    const text = await registry.metrics();
    assert.match(text, /^gatehouse_dns_query_duration_seconds_count\{result="forwarded"\} 2$/m, 'a later scrape sees the new counts');
    const norm = (t: string) => t.split('\n').map((l) => l.replace(/_sum(\{[^}]*\}) \S+/, '_sum$1 S')).sort();
    assert.deepEqual(norm(text), norm(await reference.metrics()), 'same lines as prom-client\'s Histogram (sums compared apart: ms → s rounding)');
    assert.match(text, /_sum\{result="forwarded"\} 3\.012$/m);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error === undefined) assert.equal(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);
  });
});
