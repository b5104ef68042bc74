/**
 * Issue #10, the runtime as an admin drives it: `gatehouse run` with a `dns:` config (no firewall), the
 * `gatehouse dns …` verbs against it (text and --json), LAN device names from the DHCP leases answered with
 * their PTR, a port already taken refused at start naming the address, and SIGTERM ending the daemon and
 * every worker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { alive, ask, tempDir, UnboundUpstream, until } from './helpers/dns-runtime.js';

const PORT = 15401;
const BUSY_PORT = 15402;
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const TSX = ['--import', 'tsx'];

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(config: string, args: readonly string[]): Promise<Cli> {
  return new Promise((done) => {
    execFile(process.execPath, [...TSX, MAIN, ...args, '--config', config], { timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function writeConfig(dir: string, name: string, port: number, upstreamPort: number): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    stringify({
      data_dir: join(dir, `data-${port}`),
      api: { socket: join(dir, `api-${port}.sock`) },
      clients: { dhcp_leases: join(dir, 'leases') },
      dns: {
        listen: [`127.0.0.1:${port}`],
        upstreams: [`127.0.0.1:${upstreamPort}`],
        workers: 2,
        blocklists: [{ name: 'ads', type: 'file', path: join(dir, 'ads.txt'), format: 'domains' }],
      },
    }),
  );
  return file;
}

function startDaemon(config: string, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    return spawn(process.execPath, [...TSX, MAIN, 'run', '--config', config], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

async function stopProcess(p: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill(signal);
  await exited;
}

describe('dns runtime: gatehouse run and the dns verbs', { timeout: 240_000 }, () => {
  let dir: string;
  let upstream: UnboundUpstream;
  let daemon: ChildProcess | undefined;
  let config: string;

  before(async () => {
    dir = await tempDir('cli');
    upstream = await UnboundUpstream.start(dir, 15202);
    await writeFile(join(dir, 'ads.txt'), 'ads.r5.test\n');
    await writeFile(join(dir, 'leases'), `${Math.floor(Date.now() / 1000) + 3600} 02:00:00:00:00:42 127.0.0.42 Annas-Laptop 01:02:00:00:00:00:42\n`);
    config = await writeConfig(dir, 'gatehouse.yaml', PORT, upstream.port);
    daemon = startDaemon(config, join(dir, 'daemon.log'));
    await until('the daemon to answer dns status', async () => {
      if (daemon?.exitCode !== null) throw new Error(`daemon exited: ${await readFile(join(dir, 'daemon.log'), 'utf8')}`);
      return (await cli(config, ['dns', 'status'])).code === 0 ? true : undefined;
    }, 60_000);
  });

  after(async () => {
    await stopProcess(daemon);
    await upstream?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('dns status and dns lists, as text and as JSON', async () => {
    const text = await cli(config, ['dns', 'status']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`DNS resolver on 127\\.0\\.0\\.1:${PORT}: 2 worker\\(s\\)`));
    const json = JSON.parse((await cli(config, ['dns', 'status', '--json'])).stdout) as { workers: { pid: number }[]; listen: string[] };
    assert.equal(json.workers.length, 2);
    assert.deepEqual(json.listen, [`127.0.0.1:${PORT}`]);
    const lists = JSON.parse((await cli(config, ['dns', 'lists', '--json'])).stdout) as { name: string; entries: number }[];
    assert.deepEqual(lists.map((l) => [l.name, l.entries]), [['ads', 1]]);
    assert.match((await cli(config, ['dns', 'lists'])).stdout, /ads\s+block\s+ads\s+domains\s+1/);
  });

  test('dns refresh picks up a changed list; an unknown name is an error', async () => {
    await writeFile(join(dir, 'ads.txt'), 'ads.r5.test\nwww.r5.test\n');
    const r = await cli(config, ['dns', 'refresh', 'ads', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { entries: number }[])[0]!.entries, 2);
    assert.equal((await ask('127.0.0.1', PORT, 'www.r5.test')).status, 'NXDOMAIN');
    const bad = await cli(config, ['dns', 'refresh', 'nope']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no DNS list named nope/);
  });

  test('dns query says what would happen and why', async () => {
    const r = await cli(config, ['dns', 'query', 'sub.ads.r5.test', '--client', '10.9.9.9']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sub\.ads\.r5\.test A asked by 10\.9\.9\.9 \(group default\): BLOCKED, NXDOMAIN/);
    assert.match(r.stdout, /why: blocked by list ads \(ads\.r5\.test\)/);
    const json = JSON.parse((await cli(config, ['dns', 'query', 'big.r5.test', '-t', 'TXT', '--json'])).stdout) as { verdict: string; answers: string[] };
    assert.equal(json.verdict, 'resolved');
  });

  test('dns optout add|list|delete moves a client out of the ad lists and back', async () => {
    assert.match((await cli(config, ['dns', 'optout', 'add', '127.0.0.1'])).stdout, /127\.0\.0\.1 opted out/);
    assert.deepEqual(JSON.parse((await cli(config, ['dns', 'optout', 'list', '--json'])).stdout), ['127.0.0.1']);
    await until('the opt-out in the workers', async () => ((await ask('127.0.0.1', PORT, 'ads.r5.test')).status === 'NOERROR' ? true : undefined));
    assert.equal((await cli(config, ['dns', 'optout', 'delete', '127.0.0.1'])).code, 0);
    await until('the opt-out gone', async () => ((await ask('127.0.0.1', PORT, 'ads.r5.test')).status === 'NXDOMAIN' ? true : undefined));
    const again = await cli(config, ['dns', 'optout', 'delete', '127.0.0.1']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /has not opted out/);
  });

  test('a LAN device answers by its DHCP name, its address by PTR, and the query log names it', async () => {
    const a = await ask('127.0.0.1', PORT, 'annas-laptop.lan');
    assert.deepEqual(a.answers, ['127.0.0.42']);
    const ptr = await ask('127.0.0.1', PORT, '42.0.0.127.in-addr.arpa', ['PTR']);
    assert.deepEqual(ptr.answers, ['annas-laptop.lan.']);
    assert.equal((await ask('127.0.0.1', PORT, 'nobody.lan')).status, 'NXDOMAIN');
    // Asked from the laptop's address: the log has its MAC and name.
    await ask('127.0.0.1', PORT, 'www.r5.test', ['-b', '127.0.0.42']);
    const rows = JSON.parse((await cli(config, ['dns', 'log', '--client', 'Annas-Laptop', '--json'])).stdout) as { name: string; mac: string; clientName: string }[];
    assert.ok(rows.some((r) => r.name === 'www.r5.test' && r.mac === '02:00:00:00:00:42' && r.clientName === 'Annas-Laptop'), JSON.stringify(rows));
  });

  test('dns flush empties the caches, and the query log shows what was blocked', async () => {
    assert.match((await cli(config, ['dns', 'flush'])).stdout, /DNS cache flushed/);
    const log = JSON.parse((await cli(config, ['dns', 'log', '--blocked', '--json'])).stdout) as { name: string; blocked: { by: string; what: string } | null }[];
    assert.ok(log.some((r) => r.name === 'ads.r5.test' && r.blocked?.by === 'list'), JSON.stringify(log.slice(0, 3)));
  });

  test('a listen address already in use refuses the start, naming it', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind(BUSY_PORT, '127.0.0.1', () => r()));
    try {
      const busy = await writeConfig(dir, 'busy.yaml', BUSY_PORT, upstream.port);
      const r = await new Promise<Cli>((done) => {
        execFile(process.execPath, [...TSX, MAIN, 'run', '--config', busy], { timeout: 60_000 }, (err, stdout, stderr) => {
          done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
        });
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, new RegExp(`dns\\.listen 127\\.0\\.0\\.1:${BUSY_PORT} \\(udp\\): the address is in use`));
    } finally {
      holder.close();
    }
  });

  test('SIGTERM ends the daemon and every worker', async () => {
    const pids = (JSON.parse((await cli(config, ['dns', 'status', '--json'])).stdout) as { workers: { pid: number }[] }).workers.map((w) => w.pid);
    assert.equal(pids.filter((p) => p > 0).length, 2);
    await stopProcess(daemon, 'SIGTERM');
    assert.equal(daemon!.exitCode, 0);
    for (const pid of pids) await until(`worker ${pid} to end`, () => (alive(pid) ? undefined : true), 10_000);
  });
});
