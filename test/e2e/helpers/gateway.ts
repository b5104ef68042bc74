import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { labDown, labUp, type Lab } from '../../../src/lab/lab.js';
import { spawnInNs, nsExec } from '../../../src/lab/ns.js';
import { closeProbes } from '../../../src/lab/probe.js';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

export const isRoot = process.getuid?.() === 0;
export const skipReason = !isRoot
  ? 'needs root (network namespaces and nftables)'
  : !existsSync(CLI)
    ? 'needs a build (npm run build)'
    : undefined;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A lab with Gatehouse running in its gateway namespace, driven through the real CLI like an admin would. */
export class GatewayLab {
  daemon: ChildProcess | undefined;
  private constructor(
    readonly lab: Lab,
    readonly dir: string,
    readonly configFile: string,
    private config: Record<string, unknown>,
  ) {}

  static async start(prefix: string, extra: Record<string, unknown> = {}): Promise<GatewayLab> {
    const lab = await labUp({ prefix });
    const dir = await mkdtemp(join(tmpdir(), `gatehouse-${prefix}-`));
    const topo = lab.topology;
    const config = {
      data_dir: join(dir, 'data'),
      log_level: 'info',
      interfaces: { lan: [...topo.gateway.lanInterfaces], wan: [topo.gateway.wanInterface] },
      firewall: { inbound: 'enforce', outbound: 'enforce', hit_poll_interval: '1s', expire_interval: '1s' },
      clients: { names: [{ mac: topo.clients[0].mac, name: 'alice-laptop' }] },
      ...extra,
    };
    const g = new GatewayLab(lab, dir, join(dir, 'gatehouse.yaml'), config);
    await g.writeConfig();
    return g;
  }

  get topo() {
    return this.lab.topology;
  }

  async writeConfig(patch: Record<string, unknown> = {}): Promise<void> {
    this.config = deepMerge(this.config, patch);
    await writeFile(this.configFile, stringify(this.config));
  }

  /** Starts the daemon in the gateway namespace and waits until its API answers. */
  async startDaemon(): Promise<void> {
    const fd = openSync(join(this.dir, 'daemon.log'), 'a');
    try {
      this.daemon = spawnInNs(this.topo.namespaces.gw, process.execPath, [CLI, 'run', '--config', this.configFile], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    const child = this.daemon;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await this.cli(['status']);
      if (r.code === 0) return;
      if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${await this.log()}`);
      if (Date.now() > deadline) throw new Error(`daemon did not come up:\n${await this.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stopDaemon(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const d = this.daemon;
    if (!d || d.exitCode !== null || d.signalCode !== null) return;
    const exited = new Promise<void>((r) => d.once('exit', () => r()));
    d.kill(signal);
    await exited;
    this.daemon = undefined;
  }

  log(): Promise<string> {
    return readFile(join(this.dir, 'daemon.log'), 'utf8').catch(() => '');
  }

  cli(args: readonly string[], input?: string): Promise<CliResult> {
    return new Promise((resolvePromise) => {
      const p = execFile(process.execPath, [CLI, ...args, '--config', this.configFile], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      });
      if (input !== undefined) p.stdin?.end(input);
    });
  }

  async cliJson<T>(args: readonly string[]): Promise<T> {
    const r = await this.cli([...args, '--json']);
    if (r.code !== 0) throw new Error(`gatehouse ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** `nft` inside the gateway namespace, for assertions about what the kernel holds. */
  async nft(args: readonly string[]): Promise<string> {
    return (await nsExec(this.topo.namespaces.gw, 'nft', args)).stdout;
  }

  async close(): Promise<void> {
    await this.stopDaemon('SIGKILL').catch(() => undefined);
    await closeProbes().catch(() => undefined);
    await labDown(this.topo.prefix).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
        ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export function run(cmd: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((r) => execFile(cmd, args, (err, stdout, stderr) => r({ code: err ? 1 : 0, stdout, stderr })));
}
