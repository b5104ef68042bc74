/**
 * Issue #9: every module can be off. A config with only a `lapi:` section (no interfaces, no firewall)
 * starts, serves CrowdSec bouncers, and never touches nftables: in a scratch network namespace of its
 * own, `nft list tables` shows nothing while the daemon runs and after it stopped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, type ChildProcess } from 'node:child_process';
import { stringify } from 'yaml';
import { CLI_PATH, ipIn, nsExec, run, spawnInNs, waitForDaemon, type CliResult } from '../../src/lab/index.js';
import { skipReason } from './helpers/gateway.js';

const LAPI = '127.0.0.1:8081';

/** `gatehouse run` with a LAPI-only config in a namespace of its own, and the CLI next to it. */
class LapiOnlyGateway {
  daemon: ChildProcess | undefined;
  private constructor(
    readonly ns: string,
    readonly dir: string,
  ) {}

  get config(): string {
    return join(this.dir, 'gatehouse.yaml');
  }

  static async create(ns: string, extra: Record<string, unknown> = {}): Promise<LapiOnlyGateway> {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    await run('ip', ['netns', 'add', ns]);
    await ipIn(ns, ['link', 'set', 'lo', 'up']);
    const g = new LapiOnlyGateway(ns, await mkdtemp(join(tmpdir(), `gatehouse-${ns}-`)));
    await writeFile(g.config, stringify({ data_dir: join(g.dir, 'data'), api: { socket: join(g.dir, 'api.sock') }, lapi: { listen: LAPI }, ...extra }));
    return g;
  }

  cli(args: readonly string[]): Promise<CliResult> {
    return new Promise((done) => {
      execFile(process.execPath, [CLI_PATH, ...args, '--config', this.config], { timeout: 60_000 }, (err, stdout, stderr) => {
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  }

  log(): Promise<string> {
    return readFile(join(this.dir, 'daemon.log'), 'utf8').catch(() => '');
  }

  async tables(): Promise<string> {
    return (await nsExec(this.ns, 'nft', ['list', 'tables'])).stdout;
  }

  async start(): Promise<void> {
    const fd = openSync(join(this.dir, 'daemon.log'), 'a');
    try {
      this.daemon = spawnInNs(this.ns, process.execPath, [CLI_PATH, 'run', '--config', this.config], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    await waitForDaemon(this.daemon, async () => (await this.cli(['status'])).code === 0, () => this.log(), 20_000);
  }

  /** A bouncer's pull from inside the namespace, where the LAPI listens. */
  async pull(key: string): Promise<{ new: { value: string }[] | null }> {
    const script = `fetch('http://${LAPI}/v1/decisions/stream?startup=true', { headers: { 'X-Api-Key': process.argv[1] } })
      .then(async (r) => { if (r.status !== 200) throw new Error('status ' + r.status); process.stdout.write(await r.text()); })
      .catch((e) => { console.error(e.message); process.exit(1); });`;
    return JSON.parse((await nsExec(this.ns, process.execPath, ['-e', script, key])).stdout) as { new: { value: string }[] | null };
  }

  async close(): Promise<void> {
    const d = this.daemon;
    if (d && d.exitCode === null && d.signalCode === null) {
      const exited = new Promise((r) => d.once('exit', r));
      d.kill('SIGKILL');
      await exited;
    }
    await run('ip', ['netns', 'del', this.ns]).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

describe('a LAPI-only gateway', { skip: skipReason, timeout: 120_000 }, () => {
  let g: LapiOnlyGateway;

  before(async () => {
    g = await LapiOnlyGateway.create('n1a-lapi');
    assert.equal(await g.tables(), '', 'the namespace starts without tables');
    await g.start();
  });
  after(async () => {
    if (g) await g.close();
  });

  test('its config is valid without interfaces', async () => {
    const r = await g.cli(['config', 'check', g.config]);
    assert.equal(r.code, 0, r.stderr);
  });

  test('runs the LAPI and no firewall, says so in `gatehouse status`, and creates no nftables table', async () => {
    const status = JSON.parse((await g.cli(['status', '--json'])).stdout) as { modules: { name: string }[]; lapi: string | null; firewall: unknown };
    const names = status.modules.map((m) => m.name);
    assert.ok(['decisions', 'crowdsec', 'api'].every((n) => names.includes(n)), names.join(', '));
    assert.ok(!names.includes('firewall'), `the firewall runs: ${names.join(', ')}`);
    assert.equal(status.firewall, null);
    assert.equal(status.lapi, `http://${LAPI}`);
    assert.match((await g.cli(['status'])).stdout, /crowdsec/);
    assert.equal(await g.tables(), '', 'the daemon created a table');
  });

  test('a bouncer pull gets the decisions, still without any table', async () => {
    const added = await g.cli(['bouncers', 'add', 'fw1']);
    assert.equal(added.code, 0, added.stderr);
    const key = added.stdout.trim().split('\n').at(-1)!;
    const made = await g.cli(['decisions', 'add', '203.0.113.66', '--duration', '1h', '--reason', 'lapi-only test']);
    assert.equal(made.code, 0, made.stderr);
    assert.deepEqual(
      ((await g.pull(key)).new ?? []).map((d) => d.value),
      ['203.0.113.66'],
    );
    assert.equal(await g.tables(), '', 'a decision made a table');
  });
});

describe('a LAPI-only gateway stopping', { skip: skipReason, timeout: 120_000 }, () => {
  let g: LapiOnlyGateway;

  before(async () => {
    g = await LapiOnlyGateway.create('n1b-lapi');
  });
  after(async () => {
    if (g) await g.close();
  });

  test('stops on SIGTERM and leaves no table behind', async () => {
    await g.start();
    const d = g.daemon!;
    const exited = new Promise<number | null>((r) => d.once('exit', (code) => r(code)));
    d.kill('SIGTERM');
    assert.equal(await exited, 0, await g.log());
    assert.equal(await g.tables(), '');
  });
});

describe('a gateway whose firewall is off in both directions', { skip: skipReason, timeout: 120_000 }, () => {
  let g: LapiOnlyGateway;

  before(async () => {
    g = await LapiOnlyGateway.create('n1c-lapi', { firewall: { inbound: 'off', outbound: 'off' } });
  });
  after(async () => {
    if (g) await g.close();
  });

  test('runs no firewall module and creates no table', async () => {
    await g.start();
    const status = JSON.parse((await g.cli(['status', '--json'])).stdout) as { modules: { name: string }[] };
    assert.ok(!status.modules.some((m) => m.name === 'firewall'));
    assert.equal(await g.tables(), '');
  });
});
