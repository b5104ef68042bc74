import { waitForDaemon } from '../../src/lab/gateway-runner.js';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ApiClient } from '../../src/cli/api-client.js';
import { spawnInNs } from '../../src/lab/ns.js';
import { CrowdsecLapi } from '../../test/e2e/peers/crowdsec.js';
import { CLI, parseProcStatus, runCli, stopChild, type Memory } from './daemon.js';
import { BenchNamespace } from './netns.js';
import type { EventLoopStatus } from '../../src/api/contract.js';

/** Duration of every benchmark decision on both sides, so both stream the same kind of entry. */
export const DECISION_DURATION = '4h';

/** One LAPI under test, listening on 127.0.0.1 inside the benchmark namespace. */
export interface BenchLapi {
  readonly side: 'gatehouse' | 'crowdsec';
  readonly baseUrl: string;
  readonly pid: number;
  /** Loads every address as an active decision; resolves with the wall time of the tool that does it, ms. */
  importIps(ips: readonly string[], workDir: string): Promise<number>;
  /** Registers bouncers `<prefix>-0 …`, returns their API keys in order. */
  addBouncers(prefix: string, count: number): Promise<string[]>;
  /** Adds one ban the way an admin would on that side; resolves with its wall time, ms. */
  addDecision(ip: string): Promise<number>;
  memory(): Promise<Memory>;
  /**
   * The server's own event-loop delay since the last call (GET /v1/status?reset_event_loop=true), a new
   * window starting with each call; absent where the server does not report one (CrowdSec).
   */
  eventLoop?(): Promise<EventLoopStatus>;
  stop(): Promise<void>;
}

async function procMemory(pid: number): Promise<Memory> {
  return parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
}

/** `count` calls of `fn`, at most `width` at once, results in order. */
async function pooled<T>(count: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < count; i = next++) out[i] = await fn(i);
    }),
  );
  return out;
}

/** The Gatehouse daemon with its LAPI on 127.0.0.1:port in the namespace (firewall on, as deployed). */
export class GatehouseLapi implements BenchLapi {
  readonly side = 'gatehouse' as const;
  private child: ChildProcess | undefined;
  private constructor(
    readonly ns: BenchNamespace,
    readonly dir: string,
    readonly configFile: string,
    readonly socket: string,
    readonly baseUrl: string,
  ) {}

  static async start(ns: BenchNamespace, dir: string, port: number, nodeArgs: readonly string[] = []): Promise<GatehouseLapi> {
    await mkdir(dir, { recursive: true });
    const configFile = join(dir, 'gatehouse.yaml');
    const dataDir = join(dir, 'data');
    await writeFile(
      configFile,
      stringify({
        data_dir: dataDir,
        log_level: 'warn',
        interfaces: { lan: [BenchNamespace.LAN], wan: [BenchNamespace.WAN] },
        lapi: { listen: `127.0.0.1:${port}` },
      }),
    );
    const g = new GatehouseLapi(ns, dir, configFile, join(dataDir, 'api.sock'), `http://127.0.0.1:${port}`);
    const fd = openSync(join(dir, 'daemon.log'), 'a');
    try {
      g.child = spawnInNs(ns.name, process.execPath, [...nodeArgs, CLI, 'run', '--config', configFile], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    try {
      await waitForDaemon(g.child, async () => (await runCli(['status'], configFile)).code === 0, () => g.log(), 30_000);
    } catch (e) {
      await g.stop();
      throw e;
    }
    return g;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('gatehouse is not running');
    return pid;
  }

  private api(): ApiClient {
    return new ApiClient({ socket: this.socket });
  }

  log(): Promise<string> {
    return readFile(join(this.dir, 'daemon.log'), 'utf8').catch(() => '');
  }

  async importIps(ips: readonly string[], workDir: string): Promise<number> {
    const file = join(workDir, `gatehouse-${ips.length}.txt`);
    await writeFile(file, ips.join('\n') + '\n');
    const r = await runCli(['decisions', 'import', file, '--duration', DECISION_DURATION, '--json'], this.configFile, 1_800_000);
    if (r.code !== 0) throw new Error(`gatehouse decisions import failed: ${r.stderr}`);
    const added = (JSON.parse(r.stdout) as { added: number }).added;
    if (added !== ips.length) throw new Error(`gatehouse imported ${added} of ${ips.length}`);
    return r.wallMs;
  }

  addBouncers(prefix: string, count: number): Promise<string[]> {
    const api = this.api();
    return pooled(count, 4, async (i) => (await api.call<{ key: string }>('POST', '/v1/bouncers', { name: `${prefix}-${i}` })).key);
  }

  /** Through the admin socket, which answers once the kernel enforces it (the CLI adds ~0.3 s of node start-up). */
  async addDecision(ip: string): Promise<number> {
    const t0 = performance.now();
    await this.api().call('POST', '/v1/decisions', { value: ip, direction: 'both', duration: DECISION_DURATION, scenario: 'manual' });
    return performance.now() - t0;
  }

  memory(): Promise<Memory> {
    return procMemory(this.pid);
  }

  async eventLoop(): Promise<EventLoopStatus> {
    return (await this.api().call<{ eventLoop: EventLoopStatus }>('GET', '/v1/status?reset_event_loop=true')).eventLoop;
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
    this.child = undefined;
  }
}

/** Real CrowdSec 1.4.6 LAPI (`crowdsec -no-cs -no-capi`, private SQLite) via the e2e peer. */
export class RealCrowdsecLapi implements BenchLapi {
  readonly side = 'crowdsec' as const;
  private constructor(private readonly lapi: CrowdsecLapi) {}

  static async start(ns: BenchNamespace, dir: string, port: number): Promise<RealCrowdsecLapi> {
    return new RealCrowdsecLapi(await CrowdsecLapi.start({ ns: ns.name, port, dir }));
  }

  get baseUrl(): string {
    return this.lapi.url;
  }

  get pid(): number {
    const pid = this.lapi.pid;
    if (pid === undefined) throw new Error('crowdsec is not running');
    return pid;
  }

  /** `cscli decisions import` of a CSV: one POST /v1/alerts with all N decisions (research Task 3). */
  async importIps(ips: readonly string[]): Promise<number> {
    const t0 = performance.now();
    await this.lapi.importDecisions(ips.map((value) => ({ value, duration: DECISION_DURATION })));
    return performance.now() - t0;
  }

  addBouncers(prefix: string, count: number): Promise<string[]> {
    return pooled(count, 4, (i) => this.lapi.addBouncer(`${prefix}-${i}`));
  }

  /** `cscli decisions add` (log in + POST /v1/alerts): CrowdSec's way to add one ban by hand. */
  async addDecision(ip: string): Promise<number> {
    const t0 = performance.now();
    await this.lapi.addDecision({ ip, duration: DECISION_DURATION });
    return performance.now() - t0;
  }

  memory(): Promise<Memory> {
    return procMemory(this.pid);
  }

  async stop(): Promise<void> {
    await this.lapi.stop();
  }
}
