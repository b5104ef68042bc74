import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { ListFiles } from './dns-names.js';
import { isNullIp, isNxdomain, type BlockCheck } from './dns-probe.js';

/**
 * The servers of the DNS benchmark, each a real process started in the foreground inside the benchmark's
 * namespace and stopped by its own PID: NSD (the upstream), the anchors and Gatehouse.
 */

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const HOST = '127.0.0.1';
export const UP_PORT = 5300;
export const DUT_PORT = 5353;

export class Proc {
  private constructor(readonly name: string, readonly child: ChildProcess, readonly logFile: string, readonly t0: number) {}

  /** Spawns with stdout/stderr to `logFile`; t0 is performance.now() just before the spawn. */
  static spawn(name: string, cmd: string, args: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): Proc {
    const fd = openSync(logFile, 'a');
    try {
      const t0 = performance.now();
      const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], ...(env ? { env } : {}) });
      child.on('error', () => {}); // reported through exitCode / the log
      return new Proc(name, child, logFile, t0);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start (is it installed?)`);
    return this.child.pid;
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** SIGTERM to this PID only, SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.alive()) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(killer);
  }
}

// ------------------------------------------------------------------------------------------------- NSD

export const ZONE = `$TTL 3600
bench. IN SOA ns.bench. admin.bench. 1 3600 600 86400 3600
bench. IN NS ns.bench.
ns.bench. IN A 127.0.0.1
*.bench. IN A 192.0.2.1
*.bench. IN AAAA 2001:db8::1
*.ip-bad.bench. IN A 198.51.100.66
*.ip-bad.bench. IN AAAA 2001:db8:bad::66
`;

/** NSD serving the wildcard zone `bench.` on HOST:UP_PORT, rate limiting off (it would throttle the test). */
export async function startNsd(dir: string): Promise<Proc> {
  const d = join(dir, 'nsd');
  await mkdir(d, { recursive: true });
  await writeFile(join(d, 'bench.zone'), ZONE);
  const conf = join(d, 'nsd.conf');
  await writeFile(conf, `server:
  ip-address: ${HOST}@${UP_PORT}
  username: ""
  chroot: ""
  zonesdir: "${d}"
  database: ""
  zonelistfile: "${d}/zone.list"
  pidfile: "${d}/nsd.pid"
  xfrdfile: "${d}/xfrd.state"
  server-count: 1
  rrl-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: bench.
  zonefile: "${d}/bench.zone"
`);
  return Proc.spawn('nsd', 'nsd', ['-d', '-c', conf], join(d, 'nsd.log'));
}

// --------------------------------------------------------------------------------------------- servers

export interface ServerSpec {
  /** As printed: dnsdist, unbound, unbound-2t, dnsmasq, dnsmasq-hosts, gatehouse, gatehouse-qlog-full. */
  readonly name: string;
  readonly kind: 'dnsdist' | 'unbound' | 'dnsmasq' | 'dnsmasq-hosts' | 'gatehouse';
  readonly threads?: number;
  readonly queryLog?: 'off' | 'full' | 'anonymous';
}

export const KNOWN_SERVERS: Readonly<Record<string, ServerSpec>> = {
  dnsdist: { name: 'dnsdist', kind: 'dnsdist' },
  unbound: { name: 'unbound', kind: 'unbound', threads: 1 },
  'unbound-2t': { name: 'unbound-2t', kind: 'unbound', threads: 2 },
  dnsmasq: { name: 'dnsmasq', kind: 'dnsmasq' },
  'dnsmasq-hosts': { name: 'dnsmasq-hosts', kind: 'dnsmasq-hosts' },
  gatehouse: { name: 'gatehouse', kind: 'gatehouse', queryLog: 'off' },
  'gatehouse-qlog-full': { name: 'gatehouse-qlog-full', kind: 'gatehouse', queryLog: 'full' },
};

export function isGatehouse(s: ServerSpec): boolean {
  return s.kind === 'gatehouse';
}

export function blockCheckOf(s: ServerSpec): BlockCheck {
  return s.kind === 'dnsmasq-hosts' ? isNullIp : isNxdomain;
}

export interface GatehouseOpts {
  readonly workers?: number;
  /** Run the daemon from src/ through tsx instead of dist/ (slower start; for tests without a build). */
  readonly fromSource: boolean;
  /** Write V8 CPU profiles of the daemon and every resolver worker here (a preload in NODE_OPTIONS reaches the forks). */
  readonly cpuProfDir?: string;
}

export interface Started {
  readonly proc: Proc;
  /** Gatehouse only: its config file and API socket. */
  readonly configFile?: string;
  readonly apiSocket?: string;
  readonly dataDir?: string;
}

export function gatehouseCli(fromSource: boolean): { cmd: string; args: string[] } {
  if (fromSource) return { cmd: process.execPath, args: ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')] };
  const cli = join(ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error(`no build at ${cli}: run npx tsc -p tsconfig.json first (or pass --from-source)`);
  const stale = newerThan(join(ROOT, 'src'), statSync(cli).mtimeMs);
  // A build older than the sources would measure other code than the commit the report names.
  if (stale) throw new Error(`dist/ is older than ${stale}: rebuild with npx tsc -p tsconfig.json (or pass --from-source)`);
  return { cmd: process.execPath, args: [cli] };
}

/** The first .ts file under dir modified after `ms`, if any. */
function newerThan(dir: string, ms: number): string | undefined {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const found = newerThan(p, ms);
      if (found) return found;
    } else if (e.name.endsWith('.ts') && statSync(p).mtimeMs > ms) return p;
  }
  return undefined;
}

/** Writes the server's config under dir/<name> and starts it in the foreground on HOST:DUT_PORT. */
export async function startServer(s: ServerSpec, lists: ListFiles, dir: string, g: GatehouseOpts): Promise<Started> {
  const d = join(dir, s.name);
  // A fresh directory every start: a data dir left from an earlier run would bring its decisions along.
  await rm(d, { recursive: true, force: true });
  await mkdir(d, { recursive: true });
  const log = join(d, 'server.log');
  const up = `${HOST}:${UP_PORT}`;
  switch (s.kind) {
    case 'dnsdist': {
      const conf = join(d, 'dnsdist.conf');
      // The list is read line by line in Lua: a generated Lua file with 1M add() calls would exceed LuaJIT's
      // constant limit per chunk.
      await writeFile(conf, `setSecurityPollSuffix("")
setLocal("${HOST}:${DUT_PORT}")
newServer({address="${up}", checkName="health.bench."})
local smn = newSuffixMatchNode()
for line in io.lines("${lists.domains}") do smn:add(line) end
addAction(SuffixMatchNodeRule(smn, true), RCodeAction(DNSRCode.NXDOMAIN))
pc = newPacketCache(200000)
getPool(""):setCache(pc)
`);
      return { proc: Proc.spawn(s.name, 'dnsdist', ['--supervised', '--disable-syslog', '-C', conf], log) };
    }
    case 'unbound': {
      const conf = join(d, 'unbound.conf');
      await writeFile(conf, `server:
  interface: ${HOST}@${DUT_PORT}
  port: ${DUT_PORT}
  username: ""
  chroot: ""
  directory: "${d}"
  pidfile: "${d}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: ${s.threads ?? 1}
  so-reuseport: yes
  module-config: "iterator"
  msg-cache-size: 32m
  rrset-cache-size: 64m
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  include: "${lists.unbound}"
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: ${HOST}@${UP_PORT}
`);
      return { proc: Proc.spawn(s.name, 'unbound', ['-d', '-c', conf], log) };
    }
    case 'dnsmasq':
    case 'dnsmasq-hosts': {
      const conf = join(d, 'dnsmasq.conf');
      const list = s.kind === 'dnsmasq' ? `conf-file=${lists.dnsmasq}` : `addn-hosts=${lists.hosts}`;
      await writeFile(conf, `port=${DUT_PORT}
listen-address=${HOST}
bind-interfaces
no-resolv
no-hosts
server=${HOST}#${UP_PORT}
cache-size=10000
dns-forward-max=1000
user=root
pid-file=
${list}
`);
      return { proc: Proc.spawn(s.name, 'dnsmasq', ['-k', '-C', conf], log) };
    }
    case 'gatehouse': {
      const configFile = join(d, 'gatehouse.yaml');
      const apiSocket = join(d, 'api.sock');
      const dataDir = join(d, 'data');
      // DNS-only: no firewall: and no interfaces:, so nftables is never touched.
      await writeFile(configFile, stringify({
        data_dir: dataDir,
        log_level: 'warn',
        api: { socket: apiSocket },
        dns: {
          listen: [`${HOST}:${DUT_PORT}`],
          upstreams: [up],
          blocklists: [{ name: 'bench', type: 'file', path: lists.domains, format: 'domains' }],
          block_answer: 'nxdomain',
          answer_check: 'enforce',
          query_log: { mode: s.queryLog ?? 'off' },
          ...(g.workers !== undefined ? { workers: g.workers } : {}),
        },
      }));
      const cli = gatehouseCli(g.fromSource);
      const env = g.cpuProfDir
        ? { ...process.env, GH_CPU_PROF_DIR: join(g.cpuProfDir, s.name), NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${join(ROOT, 'bench', 'lib', 'cpu-prof-preload.mjs')}`.trim() }
        : undefined;
      return { proc: Proc.spawn(s.name, cli.cmd, [...cli.args, 'run', '--config', configFile], log, env), configFile, apiSocket, dataDir };
    }
  }
}
