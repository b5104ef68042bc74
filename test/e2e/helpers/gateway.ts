import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labUp, type Lab, type LabUpOptions } from '../../../src/lab/lab.js';
import { nsExec } from '../../../src/lab/ns.js';
import { closeProbes } from '../../../src/lab/probe.js';
import { CLI_PATH, LabGateway, deepMerge, labGatewayConfig } from '../../../src/lab/gateway-runner.js';

export const isRoot = process.getuid?.() === 0;
export const skipReason = !isRoot ? 'needs root (network namespaces and nftables)' : !existsSync(CLI_PATH) ? 'needs a build (npm run build)' : undefined;

/** A test's own lab with Gatehouse in its gateway; `close()` removes all of it. */
export class GatewayLab extends LabGateway {
  private constructor(readonly lab: Lab, dir: string, config: Record<string, unknown>) {
    super(lab.topology, dir, config);
  }

  /** `labOptions`: the lab's shape (more clients, an ISP bottleneck, iperf3 servers); default the two-client lab. */
  static async start(prefix: string, extra: Record<string, unknown> = {}, labOptions: Omit<LabUpOptions, 'prefix'> = {}): Promise<GatewayLab> {
    const lab = await labUp({ ...labOptions, prefix });
    const dir = await mkdtemp(join(tmpdir(), `gatehouse-${prefix}-`));
    const g = new GatewayLab(lab, dir, deepMerge(labGatewayConfig(lab.topology, dir), extra));
    await g.writeConfig();
    return g;
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
    // GATEHOUSE_TEST_LOG=1 shows what the daemon said, for a failure that only the daemon can explain.
    if (process.env.GATEHOUSE_TEST_LOG) process.stderr.write(`--- daemon log (${this.topo.prefix}) ---\n${(await this.log()).slice(-20000)}\n`);
    await this.stopDaemon('SIGKILL').catch(() => undefined);
    await closeProbes().catch(() => undefined);
    await labDown(this.topo.prefix).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
