/** Figures and the side-by-side table of the LAPI benchmark (pure: no processes, no sockets). */
import type { LoadResult, StreamFetch } from './lapi-client.js';
import type { Memory } from './daemon.js';
import type { EventLoopStatus } from '../../src/api/contract.js';
import { formatCount, median, mib, percentile, secs, textTable } from './stats.js';

/** Startup-stream goals from the task: < 0.5 s at 100k, < 5 s at 1M; other sizes have none. */
export const STARTUP_GOAL_MS: Readonly<Record<number, number>> = { 100_000: 500, 1_000_000: 5_000 };

export function startupGoalMs(size: number): number | undefined {
  return STARTUP_GOAL_MS[size];
}

/** CrowdSec 1.4.6 startup stream times recorded on this machine (research/crowdsec-peer.md, Task 3; curl). */
export const RECORDED_CROWDSEC_STARTUP_MS: Readonly<Record<number, number>> = { 10_000: 130, 50_000: 590, 100_000: 2_680 };

export interface PollSummary {
  readonly polls: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  /** Decisions the polls delivered in `new`, summed over bouncers and rounds. */
  readonly newDelivered: number;
  /** Largest client-side start lag against the schedule (if large, the client, not the server, was busy). */
  readonly maxLateMs: number;
}

export function summarisePolls(r: LoadResult): PollSummary {
  const ok = r.polls.filter((p) => p.status === 200 && p.newCount >= 0);
  const ms = ok.map((p) => p.ms);
  return {
    polls: r.polls.length,
    failed: r.polls.length - ok.length,
    p50Ms: percentile(ms, 50),
    p95Ms: percentile(ms, 95),
    maxMs: ms.length ? Math.max(...ms) : Number.NaN,
    newDelivered: ok.reduce((a, p) => a + p.newCount, 0),
    maxLateMs: r.polls.length ? Math.max(...r.polls.map((p) => p.lateMs)) : 0,
  };
}

/** Everything measured for one server at one size. */
export interface SideResult {
  readonly side: 'gatehouse' | 'crowdsec';
  readonly size: number;
  /** `gatehouse decisions import` / `cscli decisions import` wall time, ms. */
  readonly importMs: number;
  readonly memAfterImport: Memory;
  /** After the idle startup streams, before the poll load. */
  readonly memAfterStartup: Memory;
  readonly startup: {
    readonly runs: readonly StreamFetch[];
    readonly medianMs: number;
    readonly medianHeadersMs: number;
    readonly bytes: number;
  };
  readonly load: {
    readonly clients: number;
    readonly rounds: number;
    readonly periodMs: number;
    readonly wallMs: number;
    readonly warmUpMaxNew: number;
    readonly polls: PollSummary;
    readonly startupsUnderLoad: readonly StreamFetch[];
    readonly startupUnderLoadMedianMs: number;
    /** Successful adds. */
    readonly adds: number;
    /** Error text of each failed add. */
    readonly addFailures: readonly string[];
    readonly addMedianMs: number;
  };
  readonly memAfterLoad: Memory;
  /** The server's event-loop delay per phase (Gatehouse only): the import, the idle startup streams, the poll load. */
  readonly eventLoop?: { readonly import: EventLoopStatus; readonly startup: EventLoopStatus; readonly load: EventLoopStatus };
}

/** Event-loop delay goal under the poll load (issue #9): no stall of 100 ms or more. */
export const LOOP_DELAY_MAX_GOAL_MS = 100;

export interface SizeReport {
  readonly size: number;
  readonly gatehouse?: SideResult;
  readonly crowdsec?: SideResult;
  /** Why CrowdSec did not run at this size, if it did not. */
  readonly crowdsecSkipped?: string;
}

function ratio(ours: number | undefined, theirs: number | undefined): string {
  if (ours === undefined || theirs === undefined || !(ours > 0) || Number.isNaN(theirs)) return '-';
  const r = theirs / ours;
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(1)}×`;
}

function ms(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  return v < 1000 ? `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms` : secs(v);
}

function mb(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function goalMark(value: number | undefined, goal: number | undefined): string {
  if (goal === undefined) return '-';
  if (value === undefined) return `< ${secs(goal)}`;
  return `< ${secs(goal)} ${value < goal ? 'met' : 'MISSED'}`;
}

function loopDelay(e: EventLoopStatus | undefined): string {
  return e ? `${ms(e.p99Ms)} / ${ms(e.maxMs)}` : '-';
}

/** One table per size: ours, goal, CrowdSec, ratio (CrowdSec ÷ ours: how many times ours is faster/smaller). */
export function renderSize(r: SizeReport): string {
  const g = r.gatehouse;
  const c = r.crowdsec;
  const goal = startupGoalMs(r.size);
  const recorded = RECORDED_CROWDSEC_STARTUP_MS[r.size];
  const row = (what: string, ours: number | undefined, theirs: number | undefined, fmt: (v: number | undefined) => string, goalText = '-'): string[] => [
    what,
    fmt(ours),
    goalText,
    c ? fmt(theirs) : '-',
    c ? ratio(ours, theirs) : '-',
  ];
  const runs = (s: SideResult | undefined) => (s ? s.startup.runs.map((x) => secs(x.ms)).join(' / ') : '-');
  const rows: string[][] = [
    row('import (CLI wall)', g?.importMs, c?.importMs, ms),
    row('startup stream, idle (median)', g?.startup.medianMs, c?.startup.medianMs, ms, goalMark(g?.startup.medianMs, goal)),
    ['  runs', runs(g), '', c ? runs(c) : '-', ''],
    row('  time to headers (median)', g?.startup.medianHeadersMs, c?.startup.medianHeadersMs, ms),
    row('  body', g?.startup.bytes, c?.startup.bytes, mb),
    row('startup stream under poll load', g?.load.startupUnderLoadMedianMs, c?.load.startupUnderLoadMedianMs, ms),
    row('delta poll p50', g?.load.polls.p50Ms, c?.load.polls.p50Ms, ms),
    row('delta poll p95', g?.load.polls.p95Ms, c?.load.polls.p95Ms, ms),
    row('delta poll max', g?.load.polls.maxMs, c?.load.polls.maxMs, ms),
    ['event-loop delay p99 / max: import', loopDelay(g?.eventLoop?.import), '', '-', ''],
    ['  idle startup streams', loopDelay(g?.eventLoop?.startup), '', '-', ''],
    ['  poll load', loopDelay(g?.eventLoop?.load), g?.eventLoop ? `max < ${LOOP_DELAY_MAX_GOAL_MS} ms ${g.eventLoop.load.maxMs < LOOP_DELAY_MAX_GOAL_MS ? 'met' : 'MISSED'}` : '-', '-', ''],
    row('add 1 decision during load (median)', g?.load.addMedianMs, c?.load.addMedianMs, ms),
    ['  adds failed', g ? String(g.load.addFailures.length) : '-', '', c ? String(c.load.addFailures.length) : '-', ''],
    row('VmRSS after import', g?.memAfterImport.rssKb, c?.memAfterImport.rssKb, mib),
    row('VmHWM after import', g?.memAfterImport.hwmKb, c?.memAfterImport.hwmKb, mib),
    row('VmHWM after idle startup streams', g?.memAfterStartup.hwmKb, c?.memAfterStartup.hwmKb, mib),
    row('VmHWM at end (after load)', g?.memAfterLoad.hwmKb, c?.memAfterLoad.hwmKb, mib),
  ];
  const lines = [`N = ${formatCount(r.size)} active decisions`, textTable(['', 'Gatehouse', 'goal', 'CrowdSec 1.4.6', 'CrowdSec/ours'], rows)];
  const notes: string[] = [];
  if (r.crowdsecSkipped) notes.push(`CrowdSec not run: ${r.crowdsecSkipped}`);
  if (recorded !== undefined) notes.push(`recorded CrowdSec anchor (research Task 3, curl): startup stream ${secs(recorded)} at this size`);
  for (const s of [g, c]) {
    if (!s) continue;
    const p = s.load.polls;
    notes.push(
      `${s.side}: ${p.polls} polls (${s.load.clients} bouncers × ${s.load.rounds} rounds over ${secs(s.load.wallMs)}), ${p.failed} failed, ` +
        `${formatCount(p.newDelivered)} new decisions delivered for ${s.load.adds} adds` +
        (s.load.addFailures.length ? ` (${s.load.addFailures.length} adds FAILED: ${s.load.addFailures[0]})` : '') +
        `, client lag max ${ms(p.maxLateMs)}; ` +
        `warm-up poll max ${formatCount(s.load.warmUpMaxNew)} new`,
    );
  }
  return [...lines, ...notes.map((n) => `  ${n}`)].join('\n');
}

export function medianOf(fs: readonly StreamFetch[], key: 'ms' | 'headersMs'): number {
  return median(fs.map((f) => f[key]));
}
