import { run, nsExec, netnsExists, type RunOptions, type RunResult } from '../../src/lab/ns.js';

/**
 * A private network namespace with one veth pair inside it, named so the daemon finds its lan and wan
 * interfaces. Everything the benchmark does to nftables happens in here; removing the namespace removes
 * its ruleset and both veth ends, so nothing is left on the host.
 */
export class BenchNamespace {
  static readonly LAN = 'ghb-lan';
  static readonly WAN = 'ghb-wan';

  private constructor(readonly name: string) {}

  static async create(name = `ghbench-${process.pid}`): Promise<BenchNamespace> {
    if (netnsExists(name)) await run('ip', ['netns', 'del', name]);
    await run('ip', ['netns', 'add', name]);
    const ns = new BenchNamespace(name);
    try {
      await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
      await run('ip', ['-n', name, 'link', 'add', BenchNamespace.LAN, 'type', 'veth', 'peer', 'name', BenchNamespace.WAN]);
      await run('ip', ['-n', name, 'link', 'set', BenchNamespace.LAN, 'up']);
      await run('ip', ['-n', name, 'link', 'set', BenchNamespace.WAN, 'up']);
    } catch (e) {
      await ns.remove();
      throw e;
    }
    return ns;
  }

  exec(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return nsExec(this.name, cmd, args, opts);
  }

  nft(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.exec('nft', args, { timeoutMs: 600_000, ...opts });
  }

  async remove(): Promise<void> {
    if (netnsExists(this.name)) await run('ip', ['netns', 'del', this.name]);
  }
}
