/**
 * The DNS benchmark (bench/dns.ts) runs end to end on a tiny scale and produces figures: every server starts,
 * answers blocked names as blocked and allowed names with NOERROR, and each row of the report has numbers.
 * Not a speed test: it only checks that the harness measures what it claims (timings are not asserted).
 * Needs root and Debian's nsd, dnsdist, unbound, dnsmasq and dnsperf.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { netnsExists } from '../../src/lab/ns.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TOOLS = ['dnsperf', 'nsd', 'dnsdist', 'unbound', 'dnsmasq'];

function missingTool(): string | undefined {
  const path = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  return TOOLS.find((t) => !path.some((d) => existsSync(join(d, t))));
}

const skip = process.getuid?.() !== 0 ? 'needs root (network namespace)' : missingTool() ? `${missingTool()} is not installed (scripts/install-peers.sh)` : false;

interface Run { qps: number; completed: number; cpuUsPerQuery: number; rcodes: Record<string, number> }
interface Result {
  name: string;
  startupMs?: number;
  idle?: { rssKb: number; parts: { pid: number }[] };
  max: Record<string, Run[]>;
  latency: Record<string, { p50: number; p99: number; answered: number }>;
  api?: { idle: number[]; load: number[] };
  ipcheck?: { before: Record<string, Run[]>; after: Record<string, Run[]>; error?: string };
  error?: string;
}

describe('bench/dns.ts --quick on a tiny scale', { skip, timeout: 600_000 }, () => {
  let dir = '';
  const netns = `b8smoke-${process.pid}`;
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('every server gets startup, memory, qps, CPU per query and latency figures with the right answers', async () => {
    dir = await mkdtemp(join(tmpdir(), 'dns-bench-smoke-'));
    const servers = ['dnsdist', 'unbound', 'dnsmasq', 'gatehouse'];
    const fromSource = existsSync(join(ROOT, 'dist', 'cli', 'main.js')) ? [] : ['--from-source'];
    const out = join(dir, 'report.md');
    const args = ['--import', 'tsx', join(ROOT, 'bench', 'dns.ts'), '--quick', '--size', '20000', '--dur', '1', '--lat-dur', '1', '--rate', '500',
      '--ceiling', '100000', '--decisions', '20000', '--ranges', '2000', '--api-samples', '5', '--servers', servers.join(','),
      '--netns', netns, '--work', join(dir, 'work'), '--out', out, ...fromSource];
    const res = await new Promise<{ code: number; stderr: string }>((done) =>
      execFile(process.execPath, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 540_000 }, (err, _o, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr })));
    assert.equal(res.code, 0, res.stderr.slice(-4000));
    assert.equal(netnsExists(netns), false, 'the namespace is removed afterwards');

    const md = await readFile(out, 'utf8');
    const json = JSON.parse(await readFile(out.replace(/\.md$/, '.json'), 'utf8')) as { results: Result[] };
    assert.deepEqual(json.results.map((r) => r.name), servers);
    for (const r of json.results) {
      assert.equal(r.error, undefined, `${r.name}: ${r.error}`);
      assert.ok(r.startupMs! > 0, `${r.name} startup`);
      assert.ok(r.idle!.rssKb > 1000, `${r.name} RSS`);
      for (const c of ['blocked', 'cached', 'uncached']) {
        const run = r.max[c]![0]!;
        assert.ok(run.qps > 0 && run.completed > 0, `${r.name} ${c} qps`);
        assert.ok(run.cpuUsPerQuery > 0, `${r.name} ${c} CPU per query`);
        const want = c === 'blocked' ? 'NXDOMAIN' : 'NOERROR';
        assert.equal(run.rcodes[want], run.completed, `${r.name} ${c}: every answer ${want} (${JSON.stringify(run.rcodes)})`);
      }
      for (const c of ['blocked', 'cached']) assert.ok(r.latency[c]!.answered > 0 && r.latency[c]!.p99 >= r.latency[c]!.p50, `${r.name} ${c} latency`);
      assert.match(md, new RegExp(`^\\| ${r.name} \\| \\d`, 'm'), `${r.name} has a row in the report`);
    }
    const g = json.results.find((r) => r.name === 'gatehouse')!;
    assert.ok(g.idle!.parts.length >= 2, 'the daemon and at least one resolver worker are measured');
    assert.ok(g.api!.idle.length === 5 && g.api!.load.length > 0, 'admin API sampled idle and under load');
    assert.equal(g.ipcheck?.error, undefined, g.ipcheck?.error);
    const bad = g.ipcheck!.after.badip![0]!;
    assert.equal(bad.rcodes.NXDOMAIN, bad.completed, `answers in a listed range are blocked (${JSON.stringify(bad.rcodes)})`);
    assert.match(md, /gatehouse ÷ dnsdist/);
  });
});
