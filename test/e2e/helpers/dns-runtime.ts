/**
 * For the dns-runtime e2e tests: a real unbound on loopback serving a small zone (everything else NXDOMAIN),
 * dig as the client, and the daemon started in this process with a `dns:` config. Ports from h5's range
 * (15000-15999); every process started here is tracked by PID and stopped.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerSettings } from '../../../src/dns/ipc.js';

export const UNBOUND_PORT = 15201;

const TXT = 'x'.repeat(200);

/** The zone the upstream serves; `big.r5.test` TXT is ~1.5 kB (over 512 and over 1232). */
const LOCAL_DATA = [
  '"www.r5.test. 300 IN A 192.0.2.10"',
  '"www.r5.test. 300 IN AAAA 2001:db8::10"',
  '"ads.r5.test. 300 IN A 192.0.2.11"',
  '"ok.ads.r5.test. 300 IN A 192.0.2.12"',
  '"sub.ads.r5.test. 300 IN A 192.0.2.13"',
  '"cloak.r5.test. 300 IN CNAME tracker.adnet.test."',
  '"tracker.adnet.test. 300 IN A 192.0.2.20"',
  '"evil.r5.test. 300 IN A 203.0.113.7"',
  '"internal.r5.test. 300 IN A 192.168.1.5"',
  ...Array.from({ length: 7 }, (_, i) => `'big.r5.test. 300 IN TXT "${i}${TXT}"'`),
];

export class UnboundUpstream {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(dir: string, port = UNBOUND_PORT): Promise<UnboundUpstream> {
    const conf = join(dir, 'unbound.conf');
    await writeFile(
      conf,
      [
        'server:',
        `  interface: 127.0.0.1@${port}`,
        '  do-daemonize: no',
        '  username: ""',
        '  chroot: ""',
        `  directory: "${dir}"`,
        '  pidfile: ""',
        '  use-syslog: no',
        '  logfile: ""',
        '  do-ip6: no',
        '  access-control: 127.0.0.0/8 allow',
        '  local-zone: "." static',
        ...LOCAL_DATA.map((d) => `  local-data: ${d}`),
        '',
      ].join('\n'),
    );
    const child = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const u = new UnboundUpstream(child, port);
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`unbound exited: ${err}`);
      const r = await dig(['@127.0.0.1', '-p', String(port), 'www.r5.test', '+short', '+tries=1', '+time=1']).catch(() => undefined);
      if (r?.includes('192.0.2.10')) return u;
      await sleep(100);
    }
    await u.stop();
    throw new Error(`unbound did not answer on ${port}: ${err}`);
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function dig(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('dig', [...args], { timeout: 20_000 }, (e, stdout) => (e ? reject(e) : resolve(stdout)));
  });
}

/** dig against the resolver under test: status, EDE text, answers. */
export async function ask(server: string, port: number, name: string, extra: readonly string[] = []): Promise<{ status: string; ede: string; answers: string[]; text: string }> {
  const text = await dig([`@${server}`, '-p', String(port), name, '+tries=1', '+time=5', ...extra]);
  const status = /status: ([A-Z]+)/.exec(text)?.[1] ?? '?';
  const ede = /; EDE: (.*)/.exec(text)?.[1] ?? '';
  const section = text.split(';; ANSWER SECTION:\n')[1]?.split('\n\n')[0] ?? '';
  const answers = section
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s+/).slice(4).join(' '));
  return { status, ede, answers, text };
}

export async function tempDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `r5-${tag}-`));
}

/** True while a process with this PID exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Worker settings for a resolver tested in-process or as one forked worker: small caches, no log; override what a test is about. */
export function workerSettings(o: Partial<WorkerSettings> = {}): WorkerSettings {
  return {
    upstreams: ['127.0.0.1:9'],
    strategy: 'strict',
    upstreamTimeoutMs: 2000,
    forward: [],
    blockAnswer: 'nxdomain',
    blockTtlSec: 60,
    answerCheck: 'enforce',
    rebinding: true,
    rebindingAllow: [],
    cache: { size: 100, maxBytes: 1 << 20, minTtlSec: 0, maxTtlSec: 86400, negativeMaxTtlSec: 3600, prefetch: false },
    queryLog: { file: '', mode: 'off' },
    listNames: ['ads'],
    privateNets: [],
    localDomain: 'lan',
    tcpIdleMs: 10_000,
    tcpMaxConnections: 10,
    ...o,
  };
}
