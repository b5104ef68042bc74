import type { LabTopology } from './topology.js';
import { nsExec, CommandError } from './ns.js';
import { IPERF3 } from './iperf-servers.js';

/**
 * iperf3 clients in the lab's client namespaces against the lab's iperf3 servers (labUp `iperf`), all started
 * together: what several residents downloading at once look like. Each run needs its own server port.
 */

export interface IperfRun {
  /** The client namespace. */
  readonly ns: string;
  readonly port: number;
  /** Parallel TCP streams (`-P`), like a download manager. Default 1. */
  readonly streams?: number;
  /** 'down' (default): the server sends (`-R`); 'up': the client sends. */
  readonly direction?: 'down' | 'up';
}

export interface IperfResult {
  readonly ns: string;
  readonly port: number;
  readonly streams: number;
  /** Goodput the receiving end counted, bits per second, over the measured seconds. */
  readonly bps: number;
  readonly retransmits?: number;
}

export interface IperfOptions {
  /** Measured seconds (`-t`). */
  readonly seconds: number;
  /** Seconds left out at the start (`-O`): TCP slow start and the first queue build-up. Default 1. */
  readonly omit?: number;
}

export function iperfClientArgs(topo: LabTopology, run: IperfRun, opts: IperfOptions): string[] {
  const streams = run.streams ?? 1;
  if (!Number.isInteger(streams) || streams < 1 || streams > 128) throw new Error(`iperf streams must be 1..128: ${streams}`);
  if (!Number.isInteger(opts.seconds) || opts.seconds < 1 || opts.seconds > 600) throw new Error(`iperf seconds must be 1..600: ${opts.seconds}`);
  const omit = opts.omit ?? 1;
  return [
    '-c', topo.iperf.ipv4, '-p', String(run.port), '-t', String(opts.seconds), '-O', String(omit), '-P', String(streams),
    '--connect-timeout', '5000', '-J', ...(run.direction === 'up' ? [] : ['-R']),
  ];
}

interface IperfJson {
  error?: string;
  end?: {
    sum_received?: { bits_per_second?: number };
    sum_sent?: { retransmits?: number };
  };
}

/** The receiver's figure from iperf3's JSON (`-J`), or a clear error. */
export function parseIperfJson(text: string, what: string): { bps: number; retransmits?: number } {
  let j: IperfJson;
  try {
    j = JSON.parse(text) as IperfJson;
  } catch {
    throw new Error(`iperf3 ${what}: output is not JSON: ${text.slice(0, 300)}`);
  }
  if (j.error) throw new Error(`iperf3 ${what}: ${j.error}`);
  const bps = j.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number') throw new Error(`iperf3 ${what}: no end.sum_received.bits_per_second`);
  const retransmits = j.end?.sum_sent?.retransmits;
  return { bps, ...(typeof retransmits === 'number' ? { retransmits } : {}) };
}

async function runOne(topo: LabTopology, run: IperfRun, opts: IperfOptions): Promise<IperfResult> {
  const args = iperfClientArgs(topo, run, opts);
  const what = `${run.ns} → :${run.port}`;
  let stdout: string;
  try {
    ({ stdout } = await nsExec(run.ns, IPERF3, args, { timeoutMs: (opts.seconds + (opts.omit ?? 1) + 20) * 1000 }));
  } catch (err) {
    // iperf3 -J reports its own errors as JSON on stdout with a non-zero exit.
    if (err instanceof CommandError && err.stdout.trim().startsWith('{')) stdout = err.stdout;
    else throw err;
  }
  return { ns: run.ns, port: run.port, streams: run.streams ?? 1, ...parseIperfJson(stdout, what) };
}

/** Starts every run at once and waits for all; the results are in the order of `runs`. */
export async function iperfTogether(topo: LabTopology, runs: readonly IperfRun[], opts: IperfOptions): Promise<IperfResult[]> {
  const ports = new Set(runs.map((r) => r.port));
  if (ports.size !== runs.length) throw new Error('iperfTogether: each run needs its own server port (an iperf3 server runs one test at a time)');
  return Promise.all(runs.map((r) => runOne(topo, r, opts)));
}
