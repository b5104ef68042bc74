import { waitForDaemon } from '../../src/lab/gateway-runner.js';
import { execFile, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { ApiClient } from '../../src/cli/api-client.js';
import { loadConfig } from '../../src/daemon/index.js';
import { spawnInNs } from '../../src/lab/ns.js';
import { BenchNamespace } from './netns.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock time of the whole CLI process, node start-up included: what an admin waits. */
  readonly wallMs: number;
}

export interface Memory {
  /** Resident set size now, kB. */
  readonly rssKb: number;
  /** Peak resident set size since start, kB. */
  readonly hwmKb: number;
}

/** Parses VmRSS and VmHWM out of /proc/PID/status text. */
export function parseProcStatus(text: string): Memory {
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`no ${key} in /proc status`);
    return Number(m[1]);
  };
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/** Runs the real CLI (outside the namespace: it talks to the daemon over the Unix socket). */
export function runCli(args: readonly string[], configFile: string, timeoutMs = 900_000): Promise<CliRun> {
  return new Promise((done) => {
    const t0 = performance.now();
    execFile(process.execPath, [CLI, ...args, '--config', configFile], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, stdout, stderr, wallMs: performance.now() - t0 });
    });
  });
}

/** One Gatehouse daemon with its own data directory, running inside the benchmark namespace. */
/** SIGTERM, then SIGKILL after 20 s; resolves once the process has exited (at once if it already has). */
export async function stopChild(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const killer = setTimeout(() => c.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(killer);
}

export class BenchDaemon {
  private child: ChildProcess | undefined;

  private constructor(
    readonly ns: BenchNamespace,
    readonly dir: string,
    readonly configFile: string,
  ) {}

  /** `config` adds top-level sections (e.g. `feeds`) to the minimal config. */
  static async start(ns: BenchNamespace, dir: string, opts: { nodeArgs?: readonly string[]; config?: Readonly<Record<string, unknown>> } = {}): Promise<BenchDaemon> {
    await mkdir(dir, { recursive: true });
    const configFile = join(dir, 'gatehouse.yaml');
    const config = {
      data_dir: join(dir, 'data'),
      // info would log per-request lines; the benchmark measures the daemon, not its logger.
      log_level: 'warn',
      interfaces: { lan: [BenchNamespace.LAN], wan: [BenchNamespace.WAN] },
      ...opts.config,
    };
    await writeFile(configFile, stringify(config));
    const d = new BenchDaemon(ns, dir, configFile);
    const fd = openSync(d.logFile, 'a');
    try {
      d.child = spawnInNs(ns.name, process.execPath, [...(opts.nodeArgs ?? []), CLI, 'run', '--config', configFile], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    try {
      await waitForDaemon(d.child, async () => (await d.cli(['status'])).code === 0, () => d.log(), 30_000);
    } catch (e) {
      await d.stop();
      throw e;
    }
    return d;
  }

  get logFile(): string {
    return join(this.dir, 'daemon.log');
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('daemon is not running');
    return pid;
  }

  cli(args: readonly string[], timeoutMs?: number): Promise<CliRun> {
    return runCli(args, this.configFile, timeoutMs);
  }

  /** Each value added by POST /v1/decisions on the daemon's socket, which answers once the kernel has it. */
  async apiAddMs(values: readonly string[]): Promise<number[]> {
    const api = new ApiClient({ socket: loadConfig(this.configFile).api.socket });
    const out: number[] = [];
    for (const value of values) {
      const t0 = performance.now();
      await api.call('POST', '/v1/decisions', { value, direction: 'both', scenario: 'manual' });
      out.push(performance.now() - t0);
    }
    return out;
  }

  async memory(): Promise<Memory> {
    return parseProcStatus(await readFile(`/proc/${this.pid}/status`, 'utf8'));
  }

  log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
    this.child = undefined;
  }
}
