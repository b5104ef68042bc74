import { connectFrom, httpGetFrom, udpSendFrom } from './probe.js';
import { summarize, type LatencySummary } from './fairness.js';

/**
 * Latency as a resident feels it while someone else fills the link: a ping-sized UDP echo and a small TCP
 * request/response (connect + HTTP GET of a small page + answer, i.e. two round trips) from a client namespace.
 */

export interface ProbeOptions {
  readonly count: number;
  /** Between samples. Default 100 ms. */
  readonly intervalMs?: number;
  /** A sample slower than this counts as lost. Default 3000 ms. */
  readonly timeoutMs?: number;
}

/**
 * Ping-sized round trips: a 56-byte UDP datagram to the lab internet's UDP echo server (port 7). The same
 * queues as ICMP echo, without needing iputils-ping (not installed here) or raw sockets.
 */
export async function udpEchoFrom(ns: string, host: string, port: number, opts: ProbeOptions): Promise<LatencySummary> {
  const samples: number[] = [];
  let lost = 0;
  const payload = 'x'.repeat(56);
  for (let i = 0; i < opts.count; i++) {
    const r = await udpSendFrom(ns, { host, port, payload, timeoutMs: opts.timeoutMs ?? 3000 });
    if (r.outcome === 'reply') samples.push(r.ms);
    else lost++;
    await sleep(opts.intervalMs ?? 100);
  }
  return summarize(samples, lost);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function tcpRequestFrom(ns: string, url: string, opts: ProbeOptions): Promise<LatencySummary> {
  const samples: number[] = [];
  let lost = 0;
  for (let i = 0; i < opts.count; i++) {
    const r = await httpGetFrom(ns, url, opts.timeoutMs ?? 3000);
    if (r.outcome === 'response' && r.status === 200) samples.push(r.ms);
    else lost++;
    await sleep(opts.intervalMs ?? 100);
  }
  return summarize(samples, lost);
}

/** TCP connect time (SYN → SYN-ACK: one round trip) to an SSH port: what a keystroke's echo waits for. */
export async function sshConnectFrom(ns: string, host: string, port: number, opts: ProbeOptions): Promise<LatencySummary> {
  const samples: number[] = [];
  let lost = 0;
  for (let i = 0; i < opts.count; i++) {
    const r = await connectFrom(ns, { host, port, timeoutMs: opts.timeoutMs ?? 3000, bannerWaitMs: 0 });
    if (r.outcome === 'connected') samples.push(r.ms);
    else lost++;
    await sleep(opts.intervalMs ?? 100);
  }
  return summarize(samples, lost);
}
