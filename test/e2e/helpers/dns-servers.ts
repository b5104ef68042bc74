import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLI_PATH, waitForDaemon } from '../../../src/lab/gateway-runner.js';

/**
 * Real DNS servers on loopback for the tests: Debian's dnsmasq and unbound as references, a dnsmasq that
 * answers every name as a stand-in upstream, and Gatehouse itself (the built daemon, DNS-only). Each one is
 * a child process of the test, stopped by its own PID.
 */

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A port free for both UDP and TCP on 127.0.0.1 (checked, then released: good enough for a test). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((res, rej) => {
      udp.once('error', rej);
      udp.bind(0, '127.0.0.1', () => res(udp.address().port));
    });
    const tcpFree = await new Promise<boolean>((res) => {
      const s = createServer();
      s.once('error', () => res(false));
      s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
    });
    await new Promise<void>((r) => udp.close(() => r()));
    if (tcpFree) return port;
  }
  throw new Error('no free port on 127.0.0.1');
}

export interface DnsProcess {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  stop(): Promise<void>;
}

function spawnLogged(name: string, cmd: string, args: readonly string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    child.on('error', () => {});
    return child;
  } finally {
    closeSync(fd);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

/** One `dig` query; '' when nothing answered. */
export function digOnce(port: number, name: string, extra: readonly string[] = [], server = '127.0.0.1'): Promise<string> {
  return new Promise((done) => {
    execFile('dig', [`@${server}`, '-p', String(port), '+tries=1', '+time=1', name, ...extra], { timeout: 5000 }, (_err, stdout) => done(stdout ?? ''));
  });
}

async function waitAnswers(p: DnsProcess, probe: string, want: RegExp, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (want.test(await digOnce(p.port, probe))) return;
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${(await readFile(p.logFile, 'utf8').catch(() => '')).slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${p.name} did not answer ${probe} as ${want} within ${timeoutMs} ms:\n${(await readFile(p.logFile, 'utf8').catch(() => '')).slice(-3000)}`);
    await sleep(100);
  }
}

/**
 * dnsmasq in the foreground on 127.0.0.1:port with no system files (no resolv.conf, no /etc/hosts). `conf`
 * is its config-file text (address=/…/, server=…, addn-hosts=…).
 */
export async function startDnsmasq(name: string, dir: string, conf: string, probe: { name: string; want: RegExp }): Promise<DnsProcess> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const confFile = join(dir, `${name}.conf`);
  await writeFile(confFile, conf);
  const logFile = join(dir, `${name}.log`);
  const child = spawnLogged(name, 'dnsmasq', [
    '-k', `--conf-file=${confFile}`, `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--pid-file=', '--user=root', '--group=root', `--log-facility=${logFile}`,
    '--cache-size=10000', '--dns-forward-max=1000',
  ], logFile);
  const p: DnsProcess = { name, port, child, logFile, stop: () => stopChild(child) };
  try {
    await waitAnswers(p, probe.name, probe.want);
  } catch (err) {
    await p.stop();
    throw err;
  }
  return p;
}

/** The stand-in upstream: answers A for every name with `ipv4` (and nothing else), so every verdict is the filter's. */
export function startEchoUpstream(dir: string, ipv4 = '192.0.2.1'): Promise<DnsProcess> {
  return startDnsmasq('upstream', dir, `address=/#/${ipv4}\n`, { name: 'probe.upstream.test', want: new RegExp(`\\b${ipv4.replace(/\./g, '\\.')}\\b`) });
}

/** unbound forwarding everything to 127.0.0.1@upstreamPort, with `local` (local-zone/local-data lines) included. */
export async function startUnbound(name: string, dir: string, upstreamPort: number, local: string, probe: { name: string; want: RegExp }): Promise<DnsProcess> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const localFile = join(dir, `${name}-local.conf`);
  await writeFile(localFile, local);
  const confFile = join(dir, `${name}.conf`);
  await writeFile(confFile, [
    'server:',
    `  interface: 127.0.0.1@${port}`,
    `  port: ${port}`,
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    `  logfile: "${join(dir, `${name}.log`)}"`,
    '  num-threads: 1',
    '  module-config: "iterator"',
    '  do-not-query-localhost: no',
    '  access-control: 127.0.0.0/8 allow',
    '  qname-minimisation: no',
    '  harden-referral-path: no',
    '  msg-cache-size: 16m',
    '  rrset-cache-size: 32m',
    '  do-ip6: no',
    `  include: "${localFile}"`,
    'remote-control:',
    '  control-enable: no',
    'forward-zone:',
    '  name: "."',
    `  forward-addr: 127.0.0.1@${upstreamPort}`,
    '',
  ].join('\n'));
  const logFile = join(dir, `${name}.out`);
  const child = spawnLogged(name, 'unbound', ['-d', '-c', confFile], logFile);
  const p: DnsProcess = { name, port, child, logFile, stop: () => stopChild(child) };
  try {
    await waitAnswers(p, probe.name, probe.want, 60_000);
  } catch (err) {
    await p.stop();
    throw err;
  }
  return p;
}

/** Gatehouse's daemon (from dist/, as on a router) with only a `dns:` section: no firewall, no nftables. */
export class GatehouseDns {
  child: ChildProcess | undefined;
  private constructor(readonly dir: string, readonly port: number, private config: Record<string, unknown>) {}

  get configFile(): string {
    return join(this.dir, 'gatehouse.yaml');
  }
  get logFile(): string {
    return join(this.dir, 'daemon.log');
  }
  get name(): string {
    return 'gatehouse';
  }

  static async start(dir: string, dns: Record<string, unknown>, probe?: { name: string; want: RegExp }): Promise<GatehouseDns> {
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    const g = new GatehouseDns(dir, port, {
      data_dir: join(dir, 'data'),
      log_level: 'warn',
      dns: { listen: [`127.0.0.1:${port}`], ...dns },
    });
    await writeFile(g.configFile, stringify(g.config));
    const fd = openSync(g.logFile, 'a');
    try {
      g.child = spawn(process.execPath, [CLI_PATH, 'run', '--config', g.configFile], { stdio: ['ignore', fd, fd] });
      g.child.on('error', () => {});
    } finally {
      closeSync(fd);
    }
    try {
      await waitForDaemon(g.child, async () => (await g.cli(['status'])).code === 0, () => readFile(g.logFile, 'utf8').catch(() => ''), 30_000);
      if (probe) await waitAnswers({ name: 'gatehouse', port, child: g.child, logFile: g.logFile, stop: () => g.stop() }, probe.name, probe.want, 30_000);
    } catch (err) {
      await g.stop();
      throw err;
    }
    return g;
  }

  cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((done) => {
      execFile(process.execPath, [CLI_PATH, ...args, '--config', this.configFile], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  }

  async stop(): Promise<void> {
    if (this.child) await stopChild(this.child);
  }
}

/** What one dig answer says, as far as a filter's verdict goes. */
export interface DigAnswer {
  readonly status: string;
  /** A/AAAA/CNAME data in the answer section. */
  readonly answers: readonly string[];
  /** RFC 8914 Extended DNS Error text, when present. */
  readonly ede?: string;
}

/**
 * Parses `dig +noall +comments +question +answer` output of many queries (dig -f) into answers by name.
 * A query with no answer at all (timeout) is absent from the map.
 */
export function parseDigBatch(out: string): Map<string, DigAnswer> {
  const res = new Map<string, DigAnswer>();
  for (const block of out.split(';; Got answer:').slice(1)) {
    const status = /status: ([A-Z]+)/.exec(block)?.[1] ?? '?';
    const q = /^;([^\s;]+)\.\s+IN\s+/m.exec(block)?.[1];
    if (q === undefined) continue;
    const answers: string[] = [];
    for (const line of block.split('\n')) {
      const m = /^(\S+)\s+\d+\s+IN\s+(A|AAAA|CNAME)\s+(\S+)/.exec(line);
      if (m) answers.push(m[3]!);
    }
    const ede = /; EDE: (.*)$/m.exec(block)?.[1];
    res.set(q.toLowerCase(), { status, answers, ...(ede !== undefined ? { ede } : {}) });
  }
  return res;
}

/** Runs every name through one `dig -f` process (queries one after another over UDP). */
export async function digBatch(port: number, names: readonly string[], dir: string, tag: string, server = '127.0.0.1'): Promise<Map<string, DigAnswer>> {
  const file = join(dir, `names-${tag}.txt`);
  await writeFile(file, names.map((n) => `${n} A\n`).join(''));
  const out = await new Promise<string>((done, fail) => {
    execFile('dig', [`@${server}`, '-p', String(port), '+noall', '+comments', '+question', '+answer', '+tries=2', '+time=2', '-f', file],
      { timeout: 600_000, maxBuffer: 512 * 1024 * 1024 }, (err, stdout) => (err && !stdout ? fail(err) : done(stdout)));
  });
  return parseDigBatch(out);
}

export type Verdict = 'blocked' | 'passed' | 'missing' | `other:${string}`;

/**
 * A filter's verdict as a client sees it: NXDOMAIN or a null/loopback address (hosts-file style) is
 * blocked; the upstream's address is passed.
 */
export function verdictOf(a: DigAnswer | undefined, upstreamIp: string): Verdict {
  if (!a) return 'missing';
  if (a.status === 'NXDOMAIN') return 'blocked';
  if (a.status !== 'NOERROR') return `other:${a.status}`;
  if (a.answers.some((x) => x === '0.0.0.0' || x === '127.0.0.1' || x === '::')) return 'blocked';
  if (a.answers.includes(upstreamIp)) return 'passed';
  return `other:NOERROR ${a.answers.join(',') || '(no data)'}`;
}
