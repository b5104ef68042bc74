import { readdir, readFile } from 'node:fs/promises';

/** What /proc says about a server's processes: CPU ticks for µs per query, VmRSS/VmHWM for memory. */

/** Linux's USER_HZ: /proc/PID/stat counts CPU time in 1/100 s everywhere this runs. */
export const TICK_US = 10_000;

interface Stat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime of all the process's threads, in ticks. */
  readonly ticks: number;
}

/** Parses /proc/PID/stat; the command name may contain spaces and parentheses, so split after the last ')'. */
export function parseStat(pid: number, text: string): Stat {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { pid, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
}

async function stat(pid: number): Promise<Stat | undefined> {
  try {
    return parseStat(pid, await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // exited
  }
}

/** The process and all its descendants (Gatehouse's resolver workers, unbound has none, dnsdist uses threads). */
export async function processTree(root: number): Promise<number[]> {
  const all: Stat[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const s = await stat(Number(e));
    if (s) all.push(s);
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const s of all) if (s.ppid === out[i]) out.push(s.pid);
  return out;
}

/** Total CPU ticks of the given processes now. */
export async function cpuTicks(pids: readonly number[]): Promise<number> {
  return (await cpuTicksEach(pids)).reduce((a, b) => a + b, 0);
}

/** CPU ticks of each process now (0 for one that has exited). */
export async function cpuTicksEach(pids: readonly number[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of pids) out.push((await stat(p))?.ticks ?? 0);
  return out;
}

export interface ProcMemory {
  readonly pid: number;
  readonly rssKb: number;
  readonly hwmKb: number;
}

export async function memoryOf(pid: number): Promise<ProcMemory | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { pid, rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

export interface TreeMemory {
  /** Sum over the processes. */
  readonly rssKb: number;
  /** Sum of each process's own peak (the peaks need not coincide, so this is an upper bound). */
  readonly hwmKb: number;
  /** Root first, then its children. */
  readonly parts: readonly ProcMemory[];
}

export async function treeMemory(root: number): Promise<TreeMemory> {
  const parts: ProcMemory[] = [];
  for (const p of await processTree(root)) {
    const m = await memoryOf(p);
    if (m) parts.push(m);
  }
  return { rssKb: parts.reduce((a, m) => a + m.rssKb, 0), hwmKb: parts.reduce((a, m) => a + m.hwmKb, 0), parts };
}

export async function loadavg(): Promise<[number, number, number]> {
  const [a, b, c] = (await readFile('/proc/loadavg', 'utf8')).split(' ').map(Number);
  return [a!, b!, c!];
}

/**
 * Waits until the process tree uses under `maxShare` of one CPU over a 1 s window (e.g. after a bulk import,
 * while the IP index reaches the workers), at most `timeoutMs`. Resolves with the time waited and the share
 * of one CPU the tree used in the last window.
 */
export async function waitCpuQuiet(root: number, timeoutMs: number, maxShare = 0.1): Promise<{ ms: number; share: number }> {
  const t0 = performance.now();
  const windowMs = 1000;
  for (;;) {
    const pids = await processTree(root);
    const a = await cpuTicks(pids);
    await new Promise((r) => setTimeout(r, windowMs));
    const share = (((await cpuTicks(pids)) - a) * TICK_US) / 1000 / windowMs;
    if (share <= maxShare || performance.now() - t0 > timeoutMs) return { ms: performance.now() - t0, share };
  }
}
