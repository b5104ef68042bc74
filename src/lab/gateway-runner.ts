import { execFile, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { LabTopology } from './topology.js';
import { spawnInNs } from './ns.js';

/** The compiled CLI: the daemon runs from dist/ like it would on a real router. */
export const CLI_PATH = resolve(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Waits until a just-spawned daemon answers `probe` (its CLI `status`), failing with its log if it exits
 * first or takes longer than `timeoutMs`. Shared by the lab gateway, the tests and the benchmarks.
 */
export async function waitForDaemon(
  child: ChildProcess,
  probe: () => Promise<boolean>,
  log: () => Promise<string>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${await log()}`);
    if (Date.now() > deadline) throw new Error(`daemon did not come up within ${timeoutMs / 1000} s:\n${await log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The config a lab gateway starts with; callers merge their own keys on top. */
export function labGatewayConfig(topo: LabTopology, dir: string): Record<string, unknown> {
  return {
    data_dir: join(dir, 'data'),
    log_level: 'info',
    interfaces: { lan: [...topo.gateway.lanInterfaces], wan: [topo.gateway.wanInterface] },
    firewall: { inbound: 'enforce', outbound: 'enforce', hit_poll_interval: '1s', expire_interval: '1s' },
    clients: {
      names: [
        { mac: topo.clients[0].mac, name: 'alice-laptop' },
        { mac: topo.clients[1].mac, name: 'bob-phone' },
      ],
    },
  };
}

/**
 * The `dns:` section for a lab gateway: Gatehouse answers on the gateway's LAN addresses (what the clients'
 * resolv.conf names) and forwards to the lab internet's authoritative server. Callers add lists and groups.
 */
export function labDnsConfig(topo: LabTopology): Record<string, unknown> {
  return {
    listen: [`${topo.gateway.lanIpv4}:${topo.dns.port}`, `[${topo.gateway.lanIpv6}]:${topo.dns.port}`],
    upstreams: [topo.dns.authoritative.ipv4],
  };
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
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

/** Gatehouse running in a lab's gateway namespace, driven through its real CLI, as an admin would. */
export class LabGateway {
  daemon: ChildProcess | undefined;

  constructor(
    readonly topo: LabTopology,
    readonly dir: string,
    private config: Record<string, unknown>,
  ) {}

  get configFile(): string {
    return join(this.dir, 'gatehouse.yaml');
  }

  get logFile(): string {
    return join(this.dir, 'daemon.log');
  }

  async writeConfig(patch: Record<string, unknown> = {}): Promise<void> {
    this.config = deepMerge(this.config, patch);
    await writeFile(this.configFile, stringify(this.config));
  }

  /** Starts the daemon in the gateway namespace and waits until its API answers. */
  async startDaemon(timeoutMs = 20_000): Promise<void> {
    await this.writeConfig();
    const fd = openSync(this.logFile, 'a');
    try {
      this.daemon = spawnInNs(this.topo.namespaces.gw, process.execPath, [CLI_PATH, 'run', '--config', this.configFile], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    await waitForDaemon(this.daemon, async () => (await this.cli(['status'])).code === 0, () => this.log(), timeoutMs);
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
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /**
   * Runs the CLI on a pseudo-terminal (util-linux `script`), as an admin at a shell would, for output that
   * only a terminal gets. Returns stdout and stderr as the terminal showed them, carriage returns included.
   */
  cliOnTerminal(args: readonly string[]): Promise<CliResult> {
    // Our own paths and fixed words only; quoted for the shell that `script` starts.
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, CLI_PATH, ...args, '--config', this.configFile].map(quote).join(' ');
    return new Promise((done) => {
      execFile('script', ['-qec', command, '/dev/null'], { timeout: 120_000 }, (err, stdout, stderr) => {
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  }

  cli(args: readonly string[], input?: string): Promise<CliResult> {
    return new Promise((done) => {
      const p = execFile(process.execPath, [CLI_PATH, ...args, '--config', this.configFile], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
      if (input !== undefined) p.stdin?.end(input);
    });
  }
}
