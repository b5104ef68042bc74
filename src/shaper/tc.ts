import { launch, type Launched } from '../firewall/index.js';
import { batchText, teardownArgv } from './htb.js';
import type { QdiscCapabilities } from './types.js';

/*
 * tc, run through the firewall's launcher (a small helper process forks it, not the daemon), with argv arrays
 * and batch text built by htb.ts from checked values only. Never a shell.
 */

export type Runner = (cmd: string, args: readonly string[], input?: string) => Promise<Launched>;

export class TcError extends Error {
  override name = 'TcError';
}

const firstLines = (text: string, n = 6): string => text.trim().split('\n').slice(0, n).join('; ');

/** Runs a batch; with `force`, tc goes on past failing lines (removals of classes already gone). */
export async function tcBatch(lines: readonly (readonly string[])[], opts: { readonly force?: boolean; readonly run?: Runner } = {}): Promise<void> {
  if (lines.length === 0) return;
  const run = opts.run ?? launch;
  const r = await run('tc', [...(opts.force ? ['-force'] : []), '-batch', '-'], batchText(lines));
  if (r.code !== 0 && !opts.force) throw new TcError(`tc -batch failed: ${firstLines(r.stderr || r.stdout)}`);
}

/** The kind and handle of the root qdisc of a device ('' when the device has the default). */
export async function rootQdisc(dev: string, run: Runner = launch): Promise<{ kind: string; handle: string } | undefined> {
  const r = await run('tc', ['-j', 'qdisc', 'show', 'dev', dev, 'root']);
  if (r.code !== 0) throw new TcError(`tc qdisc show dev ${dev}: ${firstLines(r.stderr)}`);
  try {
    const list = JSON.parse(r.stdout || '[]') as { kind?: unknown; handle?: unknown; root?: unknown }[];
    const root = list.find((q) => q.root === true) ?? list[0];
    return root && typeof root.kind === 'string' ? { kind: root.kind, handle: String(root.handle ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the device exists (interface names come from config: a missing one is a clear start error). */
export async function deviceExists(dev: string, run: Runner = launch): Promise<boolean> {
  const r = await run('ip', ['-j', 'link', 'show', 'dev', dev]);
  return r.code === 0;
}

/** Removes the device's root qdisc (and every class); a device already back to its default is fine. */
export async function teardown(dev: string, run: Runner = launch): Promise<void> {
  const q = await rootQdisc(dev, run).catch(() => undefined);
  if (!q || q.kind !== 'htb') return;
  const r = await run('tc', teardownArgv(dev));
  if (r.code !== 0) throw new TcError(`tc qdisc del dev ${dev} root: ${firstLines(r.stderr)}`);
}

export interface ClassCounters {
  readonly minor: number;
  readonly parent: number | undefined;
  readonly bytes: number;
  readonly packets: number;
  readonly dropped: number;
}

/**
 * `tc -s class show dev X` text (iproute2 6.1 prints no JSON for HTB classes): `class htb 1:11 parent 1:10
 * leaf 11: prio 0 rate …` then ` Sent N bytes M pkt (dropped D, …`.
 */
export function parseClassStats(text: string): ClassCounters[] {
  const out: ClassCounters[] = [];
  let cur: { minor: number; parent: number | undefined } | undefined;
  for (const line of text.split('\n')) {
    const head = /^class htb [0-9a-f]+:([0-9a-f]+)(?: parent [0-9a-f]+:([0-9a-f]*))?/.exec(line);
    if (head) {
      cur = { minor: parseInt(head[1]!, 16), parent: head[2] ? parseInt(head[2], 16) : undefined };
      continue;
    }
    const sent = /^\s*Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/.exec(line);
    if (sent && cur) {
      out.push({ ...cur, bytes: Number(sent[1]), packets: Number(sent[2]), dropped: Number(sent[3]) });
      cur = undefined;
    }
  }
  return out;
}

export async function classStats(dev: string, run: Runner = launch): Promise<ClassCounters[]> {
  const r = await run('tc', ['-s', 'class', 'show', 'dev', dev]);
  if (r.code !== 0) throw new TcError(`tc class show dev ${dev}: ${firstLines(r.stderr)}`);
  return parseClassStats(r.stdout);
}

const PROBES = ['htb', 'cake', 'fq_codel', 'sfq'] as const;

/**
 * What the kernel offers: each qdisc is tried on the loopback of a scratch network namespace (`unshare -n`),
 * so nothing the gateway uses is touched. A missing optional qdisc only changes the leaf; when the probe
 * itself cannot run, HTB is assumed and leaves stay pfifo (the safe choice on any kernel with HTB).
 */
export async function detectCapabilities(run: Runner = launch): Promise<QdiscCapabilities & { readonly probed: boolean }> {
  const found: Record<(typeof PROBES)[number], boolean> = { htb: false, cake: false, fq_codel: false, sfq: false };
  let probed = true;
  for (const kind of PROBES) {
    const r = await run('unshare', ['-n', 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', kind]).catch((e: Error) => ({ code: 127, stdout: '', stderr: e.message }));
    if (r.code === 0) found[kind] = true;
    else if (!/unknown|not found|No such file|Failed to find/i.test(r.stderr)) probed = false;
  }
  if (!probed && !found.htb) found.htb = true;
  const leaf = found.cake ? 'cake' : found.fq_codel ? 'fq_codel' : found.sfq ? 'sfq' : 'pfifo';
  return { ...found, leaf, probed };
}
