/**
 * CPU per query of one resolver worker's chain (src/dns/worker/chain.ts) without the client socket: blocked
 * (100k-name list), cached (1,000 hot names) and uncached (fresh names, asked of a UDP upstream in a child
 * process on loopback, 64 in flight). It separates what the chain costs from what Node's datagram I/O to the
 * client costs: bench/dns.ts's "µs CPU per query" minus these figures is the socket loop, the kernel and libuv.
 *
 *   node --import tsx bench/dns-chain.ts [--rounds 5] [--n 200000] [--log off|full]
 *
 * µs = this process's user+sys CPU (process.cpuUsage) ÷ queries, median of the rounds. Uncached includes this
 * process's upstream socket work (send and receive), not the upstream's.
 */
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildQuery, DomainIndex, parseDomainList } from '../src/dns/index.js';
import type { WorkerSettings } from '../src/dns/ipc.js';
import { QueryLogWriter } from '../src/dns/querylog/writer.js';
import { Resolver } from '../src/dns/worker/chain.js';
import { median, textTable } from './lib/stats.js';
import { answerA } from './lib/dns-answer.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, n: { type: 'string', default: '200000' }, log: { type: 'string', default: 'off' }, upstream: { type: 'string' } } });

// The child: an upstream answering every A query with 192.0.2.1, TTL 3600 (what NSD's wildcard zone does in bench/dns.ts).
if (values.upstream !== undefined) {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => {
    const out = answerA(m, 3600);
    s.send(out, r.port, r.address);
  });
  s.bind(0, '127.0.0.1', () => process.send?.(s.address().port));
} else await main();

async function main(): Promise<void> {
  const ROUNDS = Number(values.rounds);
  const N = Number(values.n);
  const child = fork(new URL(import.meta.url).pathname, ['--upstream', '1'], { execArgv: process.execArgv });
  const port = await new Promise<number>((res) => child.once('message', (p) => res(Number(p))));
  const dir = mkdtempSync(join(tmpdir(), 'dns-chain-'));
  const settings: WorkerSettings = {
    upstreams: [`127.0.0.1:${port}`], strategy: 'parallel_best', upstreamTimeoutMs: 2500, forward: [],
    blockAnswer: 'nxdomain', blockTtlSec: 60, answerCheck: 'enforce', rebinding: true, rebindingAllow: [],
    cache: { size: 10_000, maxBytes: 64 << 20, minTtlSec: 0, maxTtlSec: 86400, negativeMaxTtlSec: 3600, prefetch: true },
    queryLog: { file: join(dir, 'q.sqlite'), mode: values.log === 'full' ? 'full' : 'off' }, listNames: ['bench'], privateNets: [], localDomain: 'lan',
    tcpIdleMs: 10_000, tcpMaxConnections: 10,
  };
  const writer = settings.queryLog.mode === 'off' ? undefined : new QueryLogWriter(settings.queryLog.file, settings.queryLog.mode);
  const r = new Resolver(settings, writer);
  const listed = Array.from({ length: 100_000 }, (_, i) => `n${i}.list${i % 97}.x`);
  r.setDomains(DomainIndex.buildSync([{ id: 0, rules: parseDomainList(listed.join('\n'), 'domains').rules }]));
  const q = (name: string, id: number) => buildQuery({ name, qtype: 1, qclass: 1, cd: false, ednsUdpSize: 1232, dnssecOk: false }, id)!;
  const blocked = listed.slice(0, 20_000).map((n, i) => q(n, i));
  const hot = Array.from({ length: 1000 }, (_, i) => q(`hot${i}.ok.bench`, i));
  // handleNow where it exists (answers without a Promise); handle() on an older chain.
  const h = r as unknown as { handleNow?: Resolver['handle'] };
  const ask = (m: Buffer) => (h.handleNow ? h.handleNow.call(r, m, '127.0.0.1', false) : r.handle(m, '127.0.0.1', false));
  for (const m of hot) await ask(m);
  let fresh = 0;

  const sync = async (msgs: Buffer[]) => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const out = ask(msgs[i % msgs.length]!);
      if (out instanceof Promise) await out;
    }
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / N;
  };
  const uncached = async () => {
    const n = Math.min(N, 40_000);
    const c0 = process.cpuUsage();
    let next = 0;
    const lane = async () => {
      while (next < n) {
        next++;
        const reply = await ask(q(`u${fresh++}.ok-new.bench`, fresh & 0xffff));
        if (!reply || (reply[3]! & 0xf) !== 0) throw new Error('uncached query not answered NOERROR');
      }
    };
    await Promise.all(Array.from({ length: 64 }, lane));
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / n;
  };
  const rows: Record<string, number[]> = { blocked: [], cached: [], uncached: [] };
  for (let i = 0; i < ROUNDS; i++) {
    rows.blocked!.push(await sync(blocked));
    rows.cached!.push(await sync(hot));
    rows.uncached!.push(await uncached());
  }
  console.log(textTable(['class', 'µs CPU/query (median)', 'rounds'], Object.entries(rows).map(([k, v]) => [k, median(v).toFixed(2), v.map((x) => x.toFixed(2)).join(' ')])));
  r.close();
  await writer?.close(2000);
  child.kill();
  rmSync(dir, { recursive: true, force: true });
}
