import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { netnsPath } from '../../../src/lab/ns.js';
import type { HolderReport, HolderSpec } from './conn-holder.js';

const SCRIPT = resolve(import.meta.dirname, 'conn-holder.ts');
const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** Connections one holder process keeps: this machine's hard open-file limit (20,000) cannot be raised. */
const PER_PROCESS = 10_000;

/**
 * conn-holder child processes (as many as `spec.count` needs): many open connections against one
 * listener, until `stop()`.
 */
export class Holder {
  private readonly reports: HolderReport[];
  private readonly waiters: (() => void)[] = [];

  private constructor(readonly children: readonly ChildProcess[]) {
    this.reports = children.map(() => ({ attempted: 0, open: 0, closed: 0, failed: 0, settled: false }));
    children.forEach((child, i) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          this.reports[i] = JSON.parse(line) as HolderReport;
        } catch {
          return;
        }
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }

  /** The sum over the child processes. */
  get last(): HolderReport {
    const sum = (k: 'attempted' | 'open' | 'closed' | 'failed') => this.reports.reduce((a, r) => a + r[k], 0);
    return { attempted: sum('attempted'), open: sum('open'), closed: sum('closed'), failed: sum('failed'), settled: this.reports.every((r) => r.settled) };
  }

  /**
   * Starts the holders in network namespace `ns` (or here, for a Unix socket), each under `prlimit` with
   * an open-file limit for its share: the test runner's own limit stays untouched.
   */
  static start(ns: string | undefined, spec: HolderSpec): Holder {
    const parts = Math.ceil(spec.count / PER_PROCESS);
    const children = Array.from({ length: parts }, (_, i) => {
      const count = Math.min(PER_PROCESS, spec.count - i * PER_PROCESS);
      const nofile = count + 512;
      const node = [process.execPath, '--import', 'tsx', SCRIPT, JSON.stringify({ ...spec, count })];
      const argv = [`--nofile=${nofile}:${nofile}`, '--', ...(ns ? ['nsenter', `--net=${netnsPath(ns)}`] : []), ...node];
      const child = spawn('prlimit', argv, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
      child.on('error', () => undefined);
      return child;
    });
    return new Holder(children);
  }

  /** Waits until every attempt has connected or failed (bounded by `timeoutMs`). */
  async settled(timeoutMs: number): Promise<HolderReport> {
    const deadline = Date.now() + timeoutMs;
    while (!this.last.settled) {
      const dead = this.children.find((c) => c.exitCode !== null);
      if (dead) throw new Error(`connection holder exited with ${dead.exitCode}`);
      if (Date.now() > deadline) throw new Error(`connection holders not done after ${timeoutMs} ms: ${JSON.stringify(this.last)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 500);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.last;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        const kill = setTimeout(() => c.kill('SIGKILL'), 5000);
        c.stdin?.end();
        await exited;
        clearTimeout(kill);
      }),
    );
  }
}

/** Resident memory of a process in MB, from /proc/PID/status (VmRSS). */
export async function rssMb(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

/** How many files and sockets a process holds open. */
export async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}
