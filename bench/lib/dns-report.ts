import type { ApiLatency, Latency, QueryClass, Run } from './dns-measure.js';
import { summarizeMs } from './dns-measure.js';
import type { TreeMemory } from './dns-proc.js';
import { median } from './stats.js';

/** The DNS benchmark's markdown: ours and the anchors side by side, ratios against dnsdist, goals. */

export interface IpCheckResult {
  readonly decisions: number;
  readonly ranges: number;
  readonly importMs: number;
  /** From the import's answer until the server's processes were quiet (the index reached the workers). */
  readonly settleMs?: number;
  /** False when the server still used over 10 % of a CPU when the wait ended (measured anyway). */
  readonly settled?: boolean;
  /** A cached name probed every 250 ms from the import's start until the server was quiet. */
  readonly availability?: { readonly probes: number; readonly answered: number; readonly longestGapMs: number };
  readonly before: Readonly<Partial<Record<'uncached' | 'badip', readonly Run[]>>>;
  readonly after: Readonly<Partial<Record<'uncached' | 'badip', readonly Run[]>>>;
  readonly memAfter?: TreeMemory;
  readonly error?: string;
  /** Something a reader must know about the figures (e.g. the check did not block). */
  readonly note?: string;
}

export interface ServerResult {
  readonly name: string;
  readonly gatehouse: boolean;
  startupMs?: number;
  idle?: TreeMemory;
  end?: TreeMemory;
  readonly max: Partial<Record<QueryClass, Run[]>>;
  readonly latency: Partial<Record<'blocked' | 'cached', Latency>>;
  api?: ApiLatency;
  ipcheck?: IpCheckResult;
  /** Gatehouse: rows in its query log after the run (0 with query_log.mode off). */
  queryLogRows?: number;
  error?: string;
}

export interface EnvInfo {
  readonly when: string;
  readonly machine: string;
  readonly versions: string;
  readonly commit: string;
  readonly options: string;
  readonly loadStart: readonly number[];
  loadEnd?: readonly number[];
  elapsedS?: number;
}

const n0 = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : Math.round(x).toLocaleString('en-US'));
const f1 = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US'));
const ms3 = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(3) : x.toFixed(1));
const mb = (kb: number | undefined): string => (kb === undefined || Number.isNaN(kb) ? '-' : `${(kb / 1024).toFixed(1)} MB`);
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0 ? '-' : `${(a / b).toFixed(2)}×`;

function med(runs: readonly Run[] | undefined, key: 'qps' | 'cpuUsPerQuery'): number | undefined {
  return runs && runs.length > 0 ? median(runs.map((r) => r[key])) : undefined;
}

function qpsCell(runs: readonly Run[] | undefined): string {
  if (!runs || runs.length === 0) return '-';
  const lost = runs.reduce((a, r) => a + r.lost, 0);
  const sent = runs.reduce((a, r) => a + r.lost + r.completed, 0);
  const all = runs.length > 1 ? ` (${runs.map((r) => n0(r.qps)).join('/')})` : '';
  const flags = `${lost > 0 ? ` lost ${((100 * lost) / sent).toFixed(2)}%` : ''}${runs.some((r) => r.exhausted) ? ' names ran out' : ''}`;
  return `${n0(med(runs, 'qps'))}${all}${flags}`;
}

function rcodeNote(r: ServerResult, c: QueryClass, runs: readonly Run[]): string {
  const tot: Record<string, number> = {};
  for (const run of runs) for (const [k, v] of Object.entries(run.rcodes)) tot[k] = (tot[k] ?? 0) + v;
  const sum = Object.values(tot).reduce((a, b) => a + b, 0);
  return `${r.name} ${c}: ${Object.entries(tot).map(([k, v]) => `${k} ${v} (${((100 * v) / sum).toFixed(2)}%)`).join(', ')}`;
}

/** Which answer a class must get; a server that answers otherwise did not do the work being timed. */
export function expectedRcode(c: QueryClass, blockedIsNull: boolean, decisionsLoaded: boolean): string | undefined {
  if (c === 'blocked') return blockedIsNull ? 'NOERROR' : 'NXDOMAIN';
  if (c === 'cached' || c === 'uncached') return 'NOERROR';
  if (c === 'badip') return decisionsLoaded ? 'NXDOMAIN' : 'NOERROR';
  return undefined;
}

export function wrongAnswers(runs: readonly Run[], want: string | undefined): number {
  if (!want) return 0;
  return runs.reduce((a, r) => a + Object.entries(r.rcodes).reduce((b, [k, v]) => b + (k === want ? 0 : v), 0), 0);
}

export function renderReport(env: EnvInfo, results: readonly ServerResult[], classes: readonly QueryClass[]): string {
  const out: string[] = [];
  const dd = results.find((r) => r.name === 'dnsdist');
  const ours = results.filter((r) => r.gatehouse);
  const ratioRows = <T>(cells: (r: ServerResult) => T[], fmt: (ours: T, dd: T) => string): string[] =>
    dd ? ours.map((o) => `| ${o.name} ÷ dnsdist | ${cells(o).map((v, i) => fmt(v, cells(dd)[i]!)).join(' | ')} |`) : [];

  out.push(`# DNS benchmark ${env.when}`, '');
  out.push('```', `${env.machine}`, `${env.versions}`, `commit ${env.commit}`, `${env.options}`,
    `loadavg at start ${env.loadStart.join(' ')}; at end ${env.loadEnd?.join(' ') ?? '?'}; whole run ${env.elapsedS ?? '?'} s`, '```', '');
  if (env.loadStart[0]! > 0.5) out.push(`**Warning: the machine was loaded at the start (1-min loadavg ${env.loadStart[0]}): qps figures are noisy; compare CPU µs per query first, and only servers of this run.**`, '');

  out.push('Like-for-like: Gatehouse answers from `dns.workers` resolver processes (default: one per CPU, here 2), so `unbound-2t` (num-threads 2) is its like-for-like anchor; `unbound` (num-threads 1) is the setting of the recorded anchors (dns-anchors.md); dnsdist is multi-threaded by design. dnsperf, NSD and the server share the same CPUs.', '');
  out.push('## Startup and memory', '',
    'Startup: spawn → first blocked name answered as blocked (probe every 50 ms; lists written before the clock starts). RSS after 1 s idle and at the end; peak = VmHWM. Gatehouse: daemon + resolver workers summed (parts below).', '',
    '| server | startup | RSS idle | peak at start | RSS at end | peak at end |', '|---|---:|---:|---:|---:|---:|');
  for (const r of results) out.push(`| ${r.name} | ${r.startupMs === undefined ? '-' : `${(r.startupMs / 1000).toFixed(2)} s`} | ${mb(r.idle?.rssKb)} | ${mb(r.idle?.hwmKb)} | ${mb(r.end?.rssKb)} | ${mb(r.end?.hwmKb)} |`);
  out.push(...ratioRows((r) => [r.startupMs, r.idle?.rssKb, r.idle?.hwmKb, r.end?.rssKb, r.end?.hwmKb], ratio), '');
  for (const r of ours) {
    if (!r.end) continue;
    out.push(`- ${r.name} processes (pid: RSS idle / RSS end / peak end): ${r.end.parts.map((p, i) => {
      const idle = r.idle?.parts.find((q) => q.pid === p.pid);
      return `${i === 0 ? 'daemon' : 'worker'} ${p.pid}: ${mb(idle?.rssKb)} / ${mb(p.rssKb)} / ${mb(p.hwmKb)}`;
    }).join('; ')}`);
  }
  out.push('');

  out.push('## Max throughput (qps)', '', `\`dnsperf -c 4 -q 32\`, median of runs (all runs in parentheses).`, '',
    `| server | ${classes.join(' | ')} |`, `|---|${classes.map(() => '---:').join('|')}|`);
  for (const r of results) out.push(`| ${r.name} | ${classes.map((c) => qpsCell(r.max[c])).join(' | ')} |`);
  out.push(...ratioRows((r) => classes.map((c) => med(r.max[c], 'qps')), ratio), '');

  out.push('## Server CPU per answered query (µs)', '',
    'user+sys of all the server\'s processes during the run ÷ answered queries; max runs / 2,000-qps latency runs. Less sensitive to other load than qps.', '',
    `| server | ${classes.join(' | ')} |`, `|---|${classes.map(() => '---:').join('|')}|`);
  const cpuCell = (r: ServerResult, c: QueryClass): string => {
    const lat = c === 'blocked' || c === 'cached' ? r.latency[c]?.cpuUsPerQuery : undefined;
    return `${f1(med(r.max[c], 'cpuUsPerQuery'))}${lat !== undefined ? ` / ${f1(lat)}` : ''}`;
  };
  for (const r of results) out.push(`| ${r.name} | ${classes.map((c) => cpuCell(r, c)).join(' | ')} |`);
  out.push(...ratioRows((r) => classes.map((c) => med(r.max[c], 'cpuUsPerQuery')), ratio), '');
  for (const r of ours) {
    const parts = (c: QueryClass): string => {
      const runs = r.max[c];
      if (!runs?.length) return '-';
      const n = Math.max(...runs.map((x) => x.cpuUsPerQueryParts.length));
      return Array.from({ length: n }, (_, i) => f1(median(runs.map((x) => x.cpuUsPerQueryParts[i] ?? 0)))).join(' + ');
    };
    const answered = Object.values(r.max).flat().reduce((a, x) => a + x.completed, 0);
    const rows = r.queryLogRows === undefined ? '' : `; query log rows after the run: ${r.queryLogRows.toLocaleString('en-US')} (the max runs alone answered ${answered.toLocaleString('en-US')})`;
    out.push(`- ${r.name}, µs per query by process (daemon + workers, max runs): ${classes.map((c) => `${c} ${parts(c)}`).join('; ')}${rows}`);
  }
  if (ours.length > 0) out.push('');

  out.push('## Latency at a fixed offered rate (ms: p50 / p99 / max)', '', '`dnsperf -Q RATE -c 4 -q 500 -v`, percentiles from the per-query lines. Goal (ours): p99 < 1 ms.', '',
    '| server | blocked | cached |', '|---|---:|---:|');
  const latCell = (l: Latency | undefined): string => (l ? `${ms3(l.p50)} / ${ms3(l.p99)} / ${ms3(l.max)}${l.lost > 0 ? ` lost ${l.lost}` : ''}` : '-');
  for (const r of results) out.push(`| ${r.name} | ${latCell(r.latency.blocked)} | ${latCell(r.latency.cached)} |`);
  out.push('');

  const withApi = ours.filter((r) => r.api);
  if (withApi.length > 0) {
    out.push('## Admin API while DNS is at full load', '', '`GET /v1/status` over the Unix socket, one request every 20 ms; idle vs during an extra max-qps blocked run.', '',
      '| server | idle p50 / p99 / max ms | under load p50 / p99 / max ms | DNS qps meanwhile |', '|---|---:|---:|---:|');
    for (const r of withApi) {
      const i = summarizeMs(r.api!.idle);
      const l = summarizeMs(r.api!.load);
      out.push(`| ${r.name} | ${ms3(i.p50)} / ${ms3(i.p99)} / ${ms3(i.max)} (n=${i.n}) | ${ms3(l.p50)} / ${ms3(l.p99)} / ${ms3(l.max)} (n=${l.n}) | ${n0(r.api!.loadRun?.qps)} |`);
    }
    out.push('');
  }

  for (const r of ours) {
    const ip = r.ipcheck;
    if (!ip) continue;
    out.push(`## Answer-IP check cost (${r.name})`, '');
    if (ip.error) {
      out.push(`not measured: ${ip.error}`, '');
      continue;
    }
    out.push(`${ip.decisions.toLocaleString('en-US')} outbound decisions of which ${ip.ranges.toLocaleString('en-US')} ranges (imported in ${(ip.importMs / 1000).toFixed(1)} s; the server ${ip.settled === false ? '**still used over 10 % of a CPU**' : 'was quiet'} ${((ip.settleMs ?? 0) / 1000).toFixed(1)} s after that${ip.availability ? `; meanwhile DNS answered ${ip.availability.answered} of ${ip.availability.probes} probes of a cached name, longest gap ${(ip.availability.longestGapMs / 1000).toFixed(1)} s` : ''}); uncached = fresh ok-new names, badip = fresh ip-bad names answered 198.51.100.66 (in a listed range once the decisions are in). RSS after the import: ${mb(ip.memAfter?.rssKb)}, peak so far ${mb(ip.memAfter?.hwmKb)} (daemon: ${mb(ip.memAfter?.parts[0]?.rssKb)}, peak ${mb(ip.memAfter?.parts[0]?.hwmKb)}). Goal: < 1 µs a query.`, '',
      '| class | qps without | qps with | µs CPU/q without | µs CPU/q with | difference |', '|---|---:|---:|---:|---:|---:|');
    for (const c of ['uncached', 'badip'] as const) {
      const b = ip.before[c];
      const a = ip.after[c];
      const d = med(a, 'cpuUsPerQuery')! - med(b, 'cpuUsPerQuery')!;
      out.push(`| ${c} | ${qpsCell(b)} | ${qpsCell(a)} | ${f1(med(b, 'cpuUsPerQuery'))} | ${f1(med(a, 'cpuUsPerQuery'))} | ${Number.isNaN(d) ? '-' : `${d >= 0 ? '+' : ''}${d.toFixed(1)} µs`} |`);
    }
    if (ip.note) out.push(`**${ip.note}**`, '');
    out.push('');
  }

  out.push(...goals(results, classes), '');

  const errors = results.filter((r) => r.error);
  if (errors.length > 0) out.push('## Errors', '', ...errors.map((r) => `- ${r.name}: ${r.error}`), '');

  out.push('## Response codes (max runs)', '');
  for (const r of results) for (const c of classes) if (r.max[c]?.length) out.push(`- ${rcodeNote(r, c, r.max[c]!)}`);
  out.push('');
  return out.join('\n');
}

const mark = (ok: boolean | undefined): string => (ok === undefined ? '?' : ok ? '✓' : '✗');

/** Issue #10's goals, per Gatehouse server, against this run's dnsdist. */
function goals(results: readonly ServerResult[], classes: readonly QueryClass[]): string[] {
  const dd = results.find((r) => r.name === 'dnsdist');
  const out = ['## Goals (issue #10)', ''];
  for (const g of results.filter((r) => r.gatehouse)) {
    const row: string[] = [];
    for (const c of classes.filter((x) => x !== 'mix')) {
      const a = med(g.max[c], 'qps');
      const b = med(dd?.max[c], 'qps');
      row.push(`${c} qps ≥ dnsdist: ${mark(a !== undefined && b !== undefined ? a >= b : undefined)} (${n0(a)} vs ${n0(b)})`);
    }
    row.push(`startup < 3 s: ${mark(g.startupMs === undefined ? undefined : g.startupMs < 3000)} (${g.startupMs === undefined ? '-' : (g.startupMs / 1000).toFixed(2)} s)`);
    row.push(`resolver memory < 150 MB (daemon + workers, RSS idle): ${mark(g.idle ? g.idle.rssKb < 150 * 1024 : undefined)} (${mb(g.idle?.rssKb)})`);
    for (const c of ['blocked', 'cached'] as const) {
      const l = g.latency[c];
      row.push(`p99 < 1 ms at the fixed rate, ${c}: ${mark(l ? l.p99 < 1 : undefined)} (${ms3(l?.p99)} ms)`);
    }
    const ip = g.ipcheck;
    if (ip && !ip.error) {
      const d = med(ip.after.uncached, 'cpuUsPerQuery')! - med(ip.before.uncached, 'cpuUsPerQuery')!;
      row.push(`answer-IP check < 1 µs/query: ${mark(Number.isNaN(d) ? undefined : d < 1)} (${Number.isNaN(d) ? '-' : d.toFixed(1)} µs, uncached; see the spread of the runs)`);
    }
    out.push(`- **${g.name}**: ${row.join('; ')}`);
  }
  return out;
}
