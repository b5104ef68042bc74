/**
 * Queries per second through UpstreamPool (one resolver worker's uncached path: the pool's send, ID/question
 * matching, timers, promises) against Debian's nsd serving a wildcard zone on loopback, and the CPU this
 * process spends per query (process.cpuUsage, user+system; it includes building the query messages, which
 * are prepared before the clock starts).
 *
 *   node --import tsx bench/dns-upstream.ts [--seconds 5] [--runs 3] [--concurrency 256] [--transport udp|tcp] [--port 13950]
 *
 * The anchor (../shared/research/dns-anchors.md): dnsdist forwards ~37k uncached qps with two workers on this
 * machine; a resolver worker has to forward about half of that on one core, plus its own filtering.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { UpstreamPool } from '../src/dns/upstream/pool.js';
import { createUpstream } from '../src/dns/upstream/create.js';
import { positiveInt } from './lib/args.js';
import { median, textTable } from './lib/stats.js';

interface Args {
  seconds: number;
  runs: number;
  concurrency: number;
  transport: 'udp' | 'tcp';
  port: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 5, runs: 3, concurrency: 256, transport: 'udp', port: 13950 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1] ?? '';
    if (k === '--seconds') a.seconds = positiveInt('seconds', v);
    else if (k === '--runs') a.runs = positiveInt('runs', v);
    else if (k === '--concurrency') a.concurrency = positiveInt('concurrency', v);
    else if (k === '--port') a.port = positiveInt('port', v);
    else if (k === '--transport' && (v === 'udp' || v === 'tcp')) a.transport = v;
    else throw new Error(`unknown argument ${k} ${v} (see the comment at the top of bench/dns-upstream.ts)`);
  }
  return a;
}

function startNsd(dir: string, port: number): ChildProcess {
  writeFileSync(join(dir, 'bench.zone'), [
    '$ORIGIN bench.', '$TTL 3600',
    '@ IN SOA ns.bench. hostmaster.bench. 1 3600 600 86400 3600',
    '@ IN NS ns.bench.', 'ns IN A 127.0.0.1',
    '* IN A 192.0.2.1', '* IN AAAA 2001:db8::1', '',
  ].join('\n'));
  writeFileSync(join(dir, 'nsd.conf'), [
    'server:',
    `  ip-address: 127.0.0.1@${port}`, `  port: ${port}`, '  username: ""', '  chroot: ""',
    `  zonesdir: "${dir}"`, `  pidfile: "${join(dir, 'nsd.pid')}"`, '  database: ""',
    `  zonelistfile: "${join(dir, 'zone.list')}"`, `  xfrdfile: "${join(dir, 'xfrd.state')}"`,
    `  xfrdir: "${dir}"`, '  rrl-ratelimit: 0', '  verbosity: 0', '  server-count: 1', '  do-ip6: no',
    'remote-control:', '  control-enable: no',
    'zone:', '  name: "bench"', '  zonefile: "bench.zone"', '',
  ].join('\n'));
  return spawn('nsd', ['-d', '-c', join(dir, 'nsd.conf')], { stdio: 'ignore' });
}

async function waitUp(port: number): Promise<void> {
  const probe = createUpstream(`127.0.0.1:${port}`);
  try {
    for (let i = 0; i < 100; i++) {
      const ok = await probe.exchange(dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'probe.bench', type: 'A' }] }), 200).then(() => true, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('nsd did not answer');
  } finally {
    probe.close();
  }
}

async function run(pool: UpstreamPool, msgs: readonly Buffer[], names: readonly string[], a: Args): Promise<{ qps: number; cpuUs: number; failed: number }> {
  let next = 0;
  let done = 0;
  let failed = 0;
  const stopAt = Date.now() + a.seconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const lane = async (): Promise<void> => {
    while (Date.now() < stopAt) {
      const i = next++ % msgs.length;
      try {
        await pool.resolve(msgs[i]!, names[i]!);
        done++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, lane));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { qps: done / secs, cpuUs: (cpu.user + cpu.system) / Math.max(1, done + failed), failed };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'u3-bench-nsd-'));
  const nsd = startNsd(dir, a.port);
  const exited = new Promise<void>((r) => nsd.once('exit', () => r()));
  const killNsd = (): void => {
    if (nsd.exitCode === null && nsd.signalCode === null) nsd.kill('SIGTERM');
  };
  process.once('exit', killNsd);
  const cleanup = async (): Promise<void> => {
    killNsd();
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUp(a.port);
    const names = Array.from({ length: 100_000 }, (_, i) => `q${i.toString(36)}.ok-new.bench`);
    const msgs = names.map((name, i) => dnsPacket.encode({ type: 'query', id: i & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] }));
    const spec = a.transport === 'udp' ? `127.0.0.1:${a.port}` : `tcp://127.0.0.1:${a.port}`;
    const rows: string[][] = [];
    const qps: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < a.runs; r++) {
      const pool = new UpstreamPool([spec], { strategy: 'parallel_best', timeoutMs: 2500 });
      const res = await run(pool, msgs, names, a);
      pool.close();
      qps.push(res.qps);
      cpu.push(res.cpuUs);
      rows.push([`run ${r + 1}`, res.qps.toFixed(0), res.cpuUs.toFixed(1), String(res.failed)]);
    }
    rows.push(['median', median(qps).toFixed(0), median(cpu).toFixed(1), '']);
    console.log(`UpstreamPool → nsd (${a.transport}, 127.0.0.1:${a.port}), ${a.concurrency} in flight, ${a.seconds} s per run, node ${process.version}`);
    console.log(textTable(['', 'qps', 'µs CPU/query', 'failed'], rows));
  } finally {
    await cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
