/**
 * Issue #9, "a real install": the release tarball (scripts/package.sh) installed with its install.sh into a
 * scratch root, the unit checked with systemd-analyze, and the installed command started the way the unit's
 * ExecStart does (its capabilities, read-only system, state and runtime dirs, private /tmp, open-file limit)
 * in a network namespace of its own: it must enforce and answer `gatehouse status` on its socket. PID 1 here
 * is not systemd, so see helpers/unit-sandbox.ts for how the unit's settings are applied without it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ipIn, nsExec, run, CommandError } from '../../src/lab/ns.js';
import { skipReason } from './helpers/gateway.js';
import { asUnitArgv, besideArgv, installedArgv, parseUnit, serviceOf, type UnitService } from './helpers/unit-sandbox.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const NS = `ghinst${process.pid}`;
const UNIT = '/etc/systemd/system/gatehouse.service';
const CONFIG = '/etc/gatehouse/gatehouse.yaml';
/** Capability bits (linux/capability.h): CAP_NET_BIND_SERVICE 10, CAP_NET_ADMIN 12. */
const NET_ADMIN_AND_BIND = (1n << 10n) | (1n << 12n);

const sh = (cmd: string, args: readonly string[], timeoutMs = 120_000) => run(cmd, args, { timeoutMs });
const installed = (root: string, command: readonly string[], ns?: string) => {
  const [cmd, ...args] = installedArgv(root, command, ns);
  return sh(cmd!, args);
};

describe('installing a release on a router', { skip: skipReason, timeout: 300_000 }, () => {
  let scratch: string;
  let release: string; // the unpacked tarball
  let root: string; // the scratch root installed into

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'gatehouse-install-'));
    const tarball = (await sh('bash', [join(REPO, 'scripts/package.sh'), '--out', scratch, '--no-build'])).stdout.trim().split('\n').at(-1)!;
    assert.match(tarball, new RegExp(`gatehouse-${VERSION.replace(/\./g, '\\.')}-linux-\\w+\\.tar\\.gz$`));
    await sh('tar', ['-C', scratch, '-xzf', tarball]);
    release = join(scratch, `gatehouse-${VERSION}`);
    root = join(scratch, 'root');
    await sh(join(release, 'install.sh'), ['--root', root]);
  });
  after(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test('puts the program, a launcher, the unit and an example config in place, needing nothing of the checkout', async () => {
    for (const f of ['opt/gatehouse/dist/cli/main.js', 'opt/gatehouse/node_modules/better-sqlite3/package.json', 'usr/local/bin/gatehouse', 'etc/systemd/system/gatehouse.service']) {
      assert.ok(existsSync(join(root, f)), `${f} is missing`);
    }
    // Production dependencies only: the dev tools stay in the checkout.
    for (const dev of ['typescript', 'tsx', 'playwright-core']) assert.ok(!existsSync(join(root, 'opt/gatehouse/node_modules', dev)), `${dev} was installed`);
    assert.equal((await stat(join(root, 'usr/local/bin/gatehouse'))).mode & 0o111, 0o111, 'the launcher is not executable');
    assert.equal((await stat(join(root, CONFIG))).mode & 0o777, 0o600, 'the config may hold keys: root only');
    // Run from the installed tree, with the checkout out of reach: only what was installed answers.
    const hide = 'cd / && for d; do mount -t tmpfs none "$d"; done && exec gatehouse --version';
    const modules = await realpath(join(REPO, 'node_modules')); // elsewhere in a worktree
    const hidden = modules.startsWith(REPO + '/') ? [REPO] : [REPO, modules];
    const v = await installed(root, ['bash', '-c', hide, 'hide', ...hidden]);
    assert.equal(v.stdout.trim(), VERSION);
    const check = await installed(root, ['gatehouse', 'config', 'check', CONFIG]);
    assert.match(check.stdout, /OK/);
  });

  test('the unit passes systemd-analyze verify, with its ExecStart found where install.sh put it', async () => {
    assert.ok(existsSync('/usr/bin/systemd-analyze'), 'systemd-analyze is missing: apt-get install systemd (npm test does)');
    const r = await installed(root, ['systemd-analyze', 'verify', '--man=no', UNIT]);
    // verify exits 0 on unknown keys and bad values, and only says so: any word from it is a finding.
    assert.equal(r.stderr.trim(), '', r.stderr);
    assert.equal(r.stdout.trim(), '');
    // The hardening stays where it is: systemd's own exposure score (0 best, 10 worst) at most 2.5.
    const sec = await installed(root, ['systemd-analyze', 'security', '--offline=yes', '--threshold=25', UNIT]);
    assert.match(sec.stdout, /Overall exposure level for gatehouse\.service: \d+\.\d/);
    // ...and verify does notice a wrong ExecStart (so the check above could fail).
    const broken = join(scratch, 'broken-root');
    await mkdir(join(broken, 'etc/systemd/system'), { recursive: true });
    await writeFile(join(broken, UNIT), (await readFile(join(root, UNIT), 'utf8')).replace('/usr/local/bin/gatehouse', '/usr/local/bin/gatehouse-missing'));
    await assert.rejects(installed(broken, ['systemd-analyze', 'verify', '--man=no', UNIT]), /is not executable/);
  });

  test('the example config puts data and socket where the unit lets the daemon write', async () => {
    const svc = serviceOf(parseUnit(await readFile(join(root, UNIT), 'utf8')));
    const example = parseYaml(await readFile(join(root, CONFIG), 'utf8')) as { data_dir: string; api: { socket: string } };
    assert.equal(example.data_dir, `/var/lib/${svc.stateDirectory}`);
    assert.equal(resolve(example.api.socket, '..'), `/run/${svc.runtimeDirectory}`);
  });

  describe('the installed command, started as the unit starts it', () => {
    let daemon: ChildProcess | undefined;
    let out = '';
    let svc: UnitService;

    before(async () => {
      // The namespace's own interfaces: a LAN and a WAN side (veth pairs kept inside it).
      await sh('ip', ['netns', 'add', NS]);
      await ipIn(NS, ['link', 'set', 'lo', 'up']);
      for (const [dev, addr] of [['lan0', '10.97.0.1/24'], ['wan0', '192.0.2.97/24']] as const) {
        await ipIn(NS, ['link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`]);
        await ipIn(NS, ['addr', 'add', addr, 'dev', dev]);
        await ipIn(NS, ['link', 'set', dev, 'up']);
        await ipIn(NS, ['link', 'set', `${dev}p`, 'up']);
      }
      svc = serviceOf(parseUnit(await readFile(join(root, UNIT), 'utf8')));
      // The example's paths, this namespace's interfaces, and a mirror on port 80 (CAP_NET_BIND_SERVICE).
      const example = parseYaml(await readFile(join(root, CONFIG), 'utf8')) as { data_dir: string; api: { socket: string } };
      await writeFile(
        join(root, CONFIG),
        [
          `data_dir: ${example.data_dir}`,
          `api: { socket: ${example.api.socket} }`,
          'interfaces: { lan: [lan0], wan: [wan0] }',
          'lapi: { listen: 10.97.0.1:8081 }',
          'mirror: { listen: 10.97.0.1:80, endpoints: [{ path: /blocklist, format: plain_text, auth: none }] }',
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      const [cmd, ...args] = asUnitArgv(root, svc, NS);
      daemon = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      daemon.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      daemon.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      await untilServing();
    });
    after(async () => {
      if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
        const gone = new Promise((r) => daemon!.once('exit', r));
        daemon.kill('SIGKILL');
        await gone;
      }
      await sh('ip', ['netns', 'del', NS]).catch(() => undefined);
    });

    const cli = (args: readonly string[]) => {
      const [cmd, ...rest] = besideArgv(daemon!.pid!, ['/usr/local/bin/gatehouse', ...args, '--config', CONFIG]);
      return sh(cmd!, rest);
    };

    /** Up once the socket answers; a daemon that exits instead ends the wait with what it said. */
    async function untilServing(): Promise<void> {
      const exited = new Promise<never>((_, reject) => daemon!.once('exit', (c, sig) => reject(new Error(`the daemon exited (${c ?? sig}):\n${out}`))));
      const deadline = Date.now() + 60_000;
      for (;;) {
        const attempt = cli(['status']).then(
          () => true,
          (e: unknown) => {
            if (Date.now() > deadline) throw new Error(`no status within 60 s: ${(e as Error).message}\n${out}`);
            return new Promise<false>((r) => setTimeout(r, 200, false));
          },
        );
        if (await Promise.race([attempt, exited])) return;
      }
    }

    test('serves gatehouse status on its socket and enforces with only the unit\'s capabilities', async () => {
      const status = JSON.parse((await cli(['status', '--json'])).stdout) as { ok?: boolean };
      assert.equal(status.ok, true);

      // It is the installed node process, with the unit's limits on it.
      const pid = daemon!.pid!;
      assert.match(await readFile(`/proc/${pid}/cmdline`, 'utf8'), /\/opt\/gatehouse\/bin\/gatehouse\.js\0run\0--config\0\/etc\/gatehouse\/gatehouse\.yaml/);
      const procStatus = await readFile(`/proc/${pid}/status`, 'utf8');
      const field = (name: string) => BigInt('0x' + new RegExp(`^${name}:\\s+([0-9a-f]+)$`, 'm').exec(procStatus)![1]!);
      assert.equal(field('CapBnd'), NET_ADMIN_AND_BIND);
      assert.equal(field('CapEff'), NET_ADMIN_AND_BIND);
      assert.match(procStatus, /^NoNewPrivs:\s+1$/m);
      assert.match(await readFile(`/proc/${pid}/limits`, 'utf8'), new RegExp(`^Max open files\\s+${svc.limitNofile}\\s+${svc.limitNofile}\\s`, 'm'));
      assert.doesNotMatch(out, /open-file limit/, 'the unit\'s LimitNOFILE is below what the daemon wants');

      // nft works with CAP_NET_ADMIN alone (no CAP_NET_RAW): a decision reaches the kernel.
      const add = await cli(['decisions', 'add', '203.0.113.97', '--reason', 'install test', '--duration', '1h']);
      assert.match(add.stdout, /203\.0\.113\.97/);
      assert.match((await nsExec(NS, 'nft', ['list', 'set', 'inet', 'gatehouse', 'both_ip4'])).stdout, /203\.0\.113\.97/);
      // The mirror on port 80 was bound (CAP_NET_BIND_SERVICE) and answers.
      const mirror = await nsExec(NS, process.execPath, ['-e', 'fetch("http://10.97.0.1/blocklist").then(async (r) => console.log(r.status, await r.text()))']);
      assert.match(mirror.stdout, /^200 203\.0\.113\.97/);
    });

    test('stops on SIGTERM, as systemctl stop sends it, and leaves the protection in the kernel', async () => {
      assert.ok(daemon && daemon.exitCode === null, `the daemon is not running:\n${out}`);
      await cli(['decisions', 'add', '203.0.113.98', '--reason', 'install test', '--duration', '1h']);
      const code = new Promise<number | null>((r) => daemon!.once('exit', (c) => r(c)));
      daemon!.kill('SIGTERM');
      assert.equal(await code, 0, out);
      assert.match((await nsExec(NS, 'nft', ['list', 'set', 'inet', 'gatehouse', 'both_ip4'])).stdout, /203\.0\.113\.98/);
    });
  });

  test('a second install keeps the admin\'s config; uninstall removes the program and keeps config and data unless --purge', async () => {
    const r2 = join(scratch, 'root2');
    await sh(join(release, 'install.sh'), ['--root', r2]);
    const mine = '# the admin\'s own\ndata_dir: /var/lib/gatehouse\n';
    await writeFile(join(r2, CONFIG), mine);
    await mkdir(join(r2, 'var/lib/gatehouse'), { recursive: true });
    await writeFile(join(r2, 'var/lib/gatehouse/gatehouse.db'), '');
    await sh(join(release, 'install.sh'), ['--root', r2]);
    assert.equal(await readFile(join(r2, CONFIG), 'utf8'), mine);

    // The installed copy of install.sh uninstalls.
    await sh(join(r2, 'opt/gatehouse/install.sh'), ['--uninstall', '--root', r2]);
    for (const f of ['opt/gatehouse', 'usr/local/bin/gatehouse', 'etc/systemd/system/gatehouse.service']) assert.ok(!existsSync(join(r2, f)), `${f} is left`);
    assert.equal(await readFile(join(r2, CONFIG), 'utf8'), mine);
    assert.ok(existsSync(join(r2, 'var/lib/gatehouse/gatehouse.db')));

    await sh(join(release, 'install.sh'), ['--root', r2]);
    await sh(join(r2, 'opt/gatehouse/install.sh'), ['--uninstall', '--purge', '--root', r2]);
    assert.ok(!existsSync(join(r2, 'etc/gatehouse')) && !existsSync(join(r2, 'var/lib/gatehouse')), 'purge left config or data');
  });

  test('refuses a prefix that holds something else, and a path the unit could misread', async () => {
    const r3 = join(scratch, 'root3');
    await mkdir(join(r3, 'opt/gatehouse'), { recursive: true });
    await writeFile(join(r3, 'opt/gatehouse/precious'), 'x');
    await assert.rejects(sh(join(release, 'install.sh'), ['--root', r3]), (e: CommandError) => /is not a Gatehouse install/.test(e.stderr));
    assert.equal(await readFile(join(r3, 'opt/gatehouse/precious'), 'utf8'), 'x');
    await assert.rejects(sh(join(release, 'install.sh'), ['--root', r3, '--prefix', '/opt/gate house']), (e: CommandError) => /not a plain absolute path/.test(e.stderr));
  });

  test('refuses a Node.js the native module was not built for, before changing anything', async () => {
    // A node 18 as Debian 12 ships it, as far as install.sh asks: its module ABI and version.
    const fake = join(scratch, 'node18');
    await writeFile(fake, '#!/bin/sh\ncase "$1" in -p) echo 108 ;; --version) echo v18.19.0 ;; *) exit 1 ;; esac\n', { mode: 0o755 });
    const r4 = join(scratch, 'root4');
    await assert.rejects(sh(join(release, 'install.sh'), ['--root', r4, '--node', fake]), (e: CommandError) =>
      /built with Node\.js \d+\.\d+\.\d+ \(module ABI \d+\), but .*node18 is v18\.19\.0 \(ABI 108\): install Node\.js \d+/.test(e.stderr),
    );
    assert.ok(!existsSync(r4), 'the refused install wrote files');
  });
});
