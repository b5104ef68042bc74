/**
 * Real CrowdSec peers (Debian 12: crowdsec 1.4.6, crowdsec-firewall-bouncer 0.0.25) for e2e tests, each with
 * private config, data, SQLite db and logs under a temp dir, running inside a network namespace the test
 * created (see netns.ts). Nothing in /etc/crowdsec or /var/lib/crowdsec is written; the system services
 * stay stopped (scripts/install-peers.sh).
 *
 * Measured here (2 vCPU, shared): LAPI spawn → /health 200 in ~0.13 s (+ ~0.1 s per cscli call before it);
 * firewall bouncer spawn → its tables in ~20 ms, set filled at its first poll; agent spawn → "Starting processing
 * data" in ~1.4 s, and 8 appended failed ssh logins → ssh-bf alert → LAPI ban in ~1 s.
 * Offline: the hub can't be updated (`cscli collections …` needs the network), but Debian's offline hub in
 * /var/lib/crowdsec/hub has the sshd parsers and ssh-bf scenarios; see CrowdsecAgent for what it loads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, killPids, netnsPath, nsExec, run, type RunResult } from '../../../src/lab/ns.js';

export const CROWDSEC_BIN = '/usr/bin/crowdsec';
export const CSCLI_BIN = '/usr/bin/cscli';
export const FW_BOUNCER_BIN = '/usr/bin/crowdsec-firewall-bouncer';
/** Read-only parts shipped by the Debian package that private configs reuse. */
const HUB_DIR = '/var/lib/crowdsec/hub';
const SYSTEM_ETC = '/etc/crowdsec';

export const CROWDSEC_MISSING =
  'real CrowdSec not installed (run `sudo bash scripts/install-peers.sh`: Debian 12 crowdsec + crowdsec-firewall-bouncer)';

export function crowdsecInstalled(): boolean {
  return existsSync(CROWDSEC_BIN) && existsSync(CSCLI_BIN) && existsSync(`${SYSTEM_ETC}/profiles.yaml`);
}
export function firewallBouncerInstalled(): boolean {
  return existsSync(FW_BOUNCER_BIN);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `cmd args` in the namespace when one is given, else on the host (loopback only). */
function exec(ns: string | undefined, cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return ns ? nsExec(ns, cmd, args, { timeoutMs }) : run(cmd, args, { timeoutMs });
}

/** Long-running process with stdout+stderr appended to `logFile`; nsenter execs in place so pid is the daemon's. */
function spawnLogged(ns: string | undefined, cmd: string, args: readonly string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const argv = ns ? [`--net=${netnsPath(ns)}`, cmd, ...args] : [...args];
    const child = spawn(ns ? 'nsenter' : cmd, argv, { stdio: ['ignore', fd, fd] });
    child.on('error', () => {});
    return child;
  } finally {
    closeSync(fd);
  }
}

async function stopChild(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!child || child.pid === undefined) return;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const left = await killPids([child.pid], graceMs);
  if (left.length === 0) await Promise.race([exited, sleep(1000)]);
}

/** Polls `check` until it returns true; fails with `what` and the last error after timeoutMs. */
async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

// ---------------------------------------------------------------------------------------------- LAPI

export interface LapiOptions {
  /** Network namespace to run in (must exist); undefined = host loopback. */
  readonly ns?: string;
  /** Listen address inside the namespace; default 127.0.0.1. */
  readonly host?: string;
  readonly port: number;
  /** State dir (config, db, logs); default a fresh temp dir, removed by destroy(). */
  readonly dir?: string;
}

export interface DecisionSpec {
  readonly ip?: string;
  readonly range?: string;
  /** With `value`: any scope, e.g. 'username'. */
  readonly scope?: string;
  readonly value?: string;
  /** Go duration, default 4h. */
  readonly duration?: string;
  readonly type?: string;
  readonly reason?: string;
}

export interface DeleteSpec {
  readonly ip?: string;
  readonly range?: string;
  readonly id?: number;
  readonly all?: boolean;
}

/** A private crowdsec LAPI (`crowdsec -no-cs -no-capi`) plus a `cscli -c <its config>` bound to it. */
export class CrowdsecLapi {
  /** The watcher cscli logs in with; also usable for POST /v1/watchers/login. */
  static readonly WATCHER = { machineId: 'gatehouse-test-watcher', password: 'gatehouseWatcherPassw0rd' };

  private child: ChildProcess | undefined;
  /** Milliseconds from spawn to /health 200 at the last start. */
  lastStartMs = 0;

  private constructor(
    readonly ns: string | undefined,
    readonly host: string,
    readonly port: number,
    readonly dir: string,
    private readonly ownDir: boolean,
  ) {}

  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }
  get configPath(): string {
    return join(this.dir, 'etc', 'config.yaml');
  }
  get logFile(): string {
    return join(this.dir, 'log', 'crowdsec_api.log');
  }
  get stdoutFile(): string {
    return join(this.dir, 'log', 'stdout.log');
  }
  get dbPath(): string {
    return join(this.dir, 'data', 'crowdsec.db');
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Writes the private config, registers the cscli watcher, starts the LAPI and waits for /health. */
  static async start(opts: LapiOptions): Promise<CrowdsecLapi> {
    const ownDir = opts.dir === undefined;
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'gh-cs-lapi-')));
    const lapi = new CrowdsecLapi(opts.ns, opts.host ?? '127.0.0.1', opts.port, dir, ownDir);
    try {
      await lapi.writeConfig();
      await lapi.cscli(['machines', 'add', CrowdsecLapi.WATCHER.machineId, '--password', CrowdsecLapi.WATCHER.password,
        '--force', '-f', join(dir, 'etc', 'local_api_credentials.yaml'), '--url', lapi.url]);
      await lapi.start();
    } catch (err) {
      await lapi.destroy().catch(() => {});
      throw err;
    }
    return lapi;
  }

  private async writeConfig(): Promise<void> {
    const d = this.dir;
    for (const sub of ['etc', 'data', 'log', 'etc/notifications']) await mkdir(join(d, sub), { recursive: true });
    await cp(`${SYSTEM_ETC}/profiles.yaml`, join(d, 'etc', 'profiles.yaml'));
    await cp(`${SYSTEM_ETC}/simulation.yaml`, join(d, 'etc', 'simulation.yaml'));
    await writeFile(join(d, 'etc', 'acquis.yaml'), '');
    await writeFile(this.configPath, lapiConfigYaml({ dir: d, listen: `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}` }));
  }

  /** (Re)starts the daemon on the same state; resolves when GET /health answers 200. */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.running) return;
    const t0 = Date.now();
    this.child = spawnLogged(this.ns, CROWDSEC_BIN, ['-c', this.configPath, '-no-cs', '-no-capi'], this.stdoutFile);
    const child = this.child;
    await waitFor(`crowdsec LAPI on ${this.url} (log: ${this.logFile})`, timeoutMs, async () => {
      if (child.exitCode !== null) throw new Error(`crowdsec exited with ${child.exitCode}: ${await this.tail()}`);
      const r = await exec(this.ns, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '1', `${this.url}/health`], 3000)
        .catch(() => ({ stdout: '' }));
      return r.stdout.trim() === '200';
    });
    this.lastStartMs = Date.now() - t0;
  }

  get running(): boolean {
    return this.child?.pid !== undefined && isAlive(this.child.pid) && this.child.exitCode === null;
  }

  /** SIGTERM (SIGKILL after 10 s); state is kept for start(). */
  async stop(): Promise<void> {
    await stopChild(this.child);
    this.child = undefined;
  }

  /** Stops and removes the state dir if this object created it. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.ownDir) await rm(this.dir, { recursive: true, force: true });
  }

  async tail(lines = 30): Promise<string> {
    const parts: string[] = [];
    for (const f of [this.stdoutFile, this.logFile]) {
      const text = await readFile(f, 'utf8').catch(() => '');
      parts.push(text.split('\n').slice(-lines).join('\n'));
    }
    return parts.join('\n');
  }

  /** `cscli -c <private config> …` inside the namespace; returns stdout. */
  async cscli(args: readonly string[], timeoutMs = 30_000): Promise<string> {
    const r = await exec(this.ns, CSCLI_BIN, ['-c', this.configPath, ...args], timeoutMs);
    return r.stdout;
  }

  /** Registers a bouncer and returns its raw API key. */
  async addBouncer(name: string): Promise<string> {
    const key = (await this.cscli(['-o', 'raw', 'bouncers', 'add', name])).trim();
    if (!/^[A-Za-z0-9+/_-]{16,}$/.test(key)) throw new Error(`unexpected key from cscli bouncers add: ${JSON.stringify(key)}`);
    return key;
  }

  async deleteBouncer(name: string): Promise<void> {
    await this.cscli(['bouncers', 'delete', name]);
  }

  /** Registers a watcher machine (for an agent or POST /v1/watchers/login). */
  async addMachine(machineId: string, password: string): Promise<void> {
    await this.cscli(['machines', 'add', machineId, '--password', password, '--force', '-f', '/dev/null']);
  }

  async addDecision(d: DecisionSpec): Promise<void> {
    const args = ['decisions', 'add'];
    if (d.ip) args.push('--ip', d.ip);
    else if (d.range) args.push('--range', d.range);
    else if (d.scope && d.value) args.push('--scope', d.scope, '--value', d.value);
    else throw new Error('addDecision needs ip, range or scope+value');
    args.push('--duration', d.duration ?? '4h');
    if (d.type) args.push('--type', d.type);
    if (d.reason) args.push('--reason', d.reason);
    await this.cscli(args);
  }

  /** Returns how many decisions cscli reports deleted. */
  async deleteDecisions(d: DeleteSpec): Promise<number> {
    const args = ['decisions', 'delete'];
    if (d.all) args.push('--all');
    else if (d.ip) args.push('--ip', d.ip);
    else if (d.range) args.push('--range', d.range);
    else if (d.id !== undefined) args.push('--id', String(d.id));
    else throw new Error('deleteDecisions needs all, ip, range or id');
    // cscli 1.4.6 logs "N decision(s) deleted" on stderr at info level; stdout is empty.
    const r = await exec(this.ns, CSCLI_BIN, ['-c', this.configPath, ...args]);
    const m = /(\d+) decision\(s\) deleted/.exec(r.stderr + r.stdout);
    return m ? Number(m[1]) : -1;
  }

  /** `cscli -o json decisions list` (alerts with their decisions) parsed; null output becomes []. */
  async listAlertsJson(): Promise<unknown[]> {
    const out = (await this.cscli(['-o', 'json', 'decisions', 'list'])).trim();
    const parsed: unknown = out ? JSON.parse(out) : null;
    return Array.isArray(parsed) ? parsed : [];
  }

  /** Bulk import (cscli decisions import), CSV `duration,scope,value` written to the state dir. */
  async importDecisions(rows: readonly { value: string; scope?: 'ip' | 'range'; duration?: string }[]): Promise<void> {
    const file = join(this.dir, `import-${Date.now()}.csv`);
    const lines = ['duration,scope,value', ...rows.map((r) => `${r.duration ?? '4h'},${r.scope ?? 'ip'},${r.value}`)];
    await writeFile(file, lines.join('\n') + '\n');
    await this.cscli(['decisions', 'import', '-i', file], 300_000);
  }
}

function lapiConfigYaml(o: { dir: string; listen: string }): string {
  const d = o.dir;
  return `# private LAPI for gatehouse e2e tests (no CAPI, no agent, no prometheus)
common:
  daemonize: false
  log_media: file
  log_level: info
  log_dir: ${d}/log/
  working_dir: ${d}
config_paths:
  config_dir: ${d}/etc/
  data_dir: ${d}/data/
  simulation_path: ${d}/etc/simulation.yaml
  hub_dir: ${HUB_DIR}/
  index_path: ${HUB_DIR}/.index.json
  notification_dir: ${d}/etc/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: ${d}/etc/acquis.yaml
  parser_routines: 1
cscli:
  output: human
  color: "no"
db_config:
  log_level: info
  type: sqlite
  db_path: ${d}/data/crowdsec.db
  use_wal: true
  flush:
    max_items: 5000
    max_age: 7d
plugin_config:
  user: nobody
  group: nogroup
api:
  client:
    insecure_skip_verify: false
    credentials_path: ${d}/etc/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: ${o.listen}
    profiles_path: ${d}/etc/profiles.yaml
    trusted_ips:
      - 127.0.0.1
      - ::1
prometheus:
  enabled: false
  level: full
  listen_addr: 127.0.0.1
  listen_port: 6060
`;
}

// ---------------------------------------------------------------------------------------------- firewall bouncer

export interface FirewallBouncerOptions {
  /** Network namespace (required: the bouncer writes nftables tables). */
  readonly ns: string;
  /** e.g. http://127.0.0.1:18080 (a trailing slash is added). */
  readonly lapiUrl: string;
  readonly apiKey: string;
  /** Go duration; default 1s so tests don't wait 10 s per poll. */
  readonly updateFrequency?: string;
  /** Table names (families ip / ip6); defaults gh-cs4 / gh-cs6. */
  readonly table4?: string;
  readonly table6?: string;
  readonly set4?: string;
  readonly set6?: string;
  readonly dir?: string;
  readonly verbose?: boolean;
}

/**
 * crowdsec-firewall-bouncer 0.0.25 in nftables mode. Note its behaviour (research/crowdsec-peer.md): it exits
 * with status 0 when the first stream call fails (no retry), truncates Range decisions to their first address,
 * and deletes its tables on SIGTERM only with `daemonize: true` (set here).
 */
export class FirewallBouncer {
  private child: ChildProcess | undefined;
  private constructor(readonly opts: FirewallBouncerOptions, readonly dir: string, private readonly ownDir: boolean) {}

  get table4(): string { return this.opts.table4 ?? 'gh-cs4'; }
  get table6(): string { return this.opts.table6 ?? 'gh-cs6'; }
  get set4(): string { return this.opts.set4 ?? 'gh-cs-bl'; }
  get set6(): string { return this.opts.set6 ?? 'gh-cs6-bl'; }
  get configPath(): string { return join(this.dir, 'bouncer.yaml'); }
  get logFile(): string { return join(this.dir, 'bouncer.log'); }
  get pid(): number | undefined { return this.child?.pid; }
  get exitCode(): number | null { return this.child?.exitCode ?? null; }

  static async start(opts: FirewallBouncerOptions): Promise<FirewallBouncer> {
    const ownDir = opts.dir === undefined;
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'gh-cs-fwb-')));
    const b = new FirewallBouncer(opts, dir, ownDir);
    await writeFile(b.configPath, b.configYaml());
    const args = ['-c', b.configPath];
    if (opts.verbose) args.push('-v');
    b.child = spawnLogged(opts.ns, FW_BOUNCER_BIN, args, b.logFile);
    // Its tables appear ~20 ms after exec, before the first poll; wait for them so callers can read sets.
    await waitFor(`firewall bouncer table ${b.table4} (log: ${b.logFile})`, 10_000, async () => {
      if (b.child?.exitCode !== null) throw new Error(`bouncer exited with ${b.child?.exitCode}: ${await b.log()}`);
      const r = await nsExec(opts.ns, 'nft', ['-t', 'list', 'table', 'ip', b.table4]).catch(() => undefined);
      return r !== undefined;
    });
    return b;
  }

  private configYaml(): string {
    const url = this.opts.lapiUrl.endsWith('/') ? this.opts.lapiUrl : `${this.opts.lapiUrl}/`;
    return `mode: nftables
pid_dir: ${this.dir}/
update_frequency: ${this.opts.updateFrequency ?? '1s'}
daemonize: true
log_mode: stdout
log_level: ${this.opts.verbose ? 'debug' : 'info'}
api_url: ${url}
api_key: ${this.opts.apiKey}
insecure_skip_verify: false
disable_ipv6: false
deny_action: DROP
deny_log: false
supported_decisions_types:
  - ban
blacklists_ipv4: ${this.set4}
blacklists_ipv6: ${this.set6}
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: ${this.table4}
    chain: ${this.table4}-chain
  ipv6:
    enabled: true
    set-only: false
    table: ${this.table6}
    chain: ${this.table6}-chain
prometheus:
  enabled: false
  listen_addr: 127.0.0.1
  listen_port: 60601
`;
  }

  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  /** Element values (addresses; ranges would show as a/len) of its IPv4 or IPv6 set, sorted. */
  async setElements(family: 4 | 6 = 4): Promise<string[]> {
    return readNftSet(this.opts.ns, family === 4 ? 'ip' : 'ip6', family === 4 ? this.table4 : this.table6,
      family === 4 ? this.set4 : this.set6);
  }

  /** SIGTERM: with daemonize true it deletes its tables and exits 0. */
  async stop(): Promise<void> {
    await stopChild(this.child);
    this.child = undefined;
    if (this.ownDir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** One nft set element as read back, with its remaining timeout when the set has one. */
export interface NftElement {
  readonly value: string;
  readonly timeoutSec?: number;
  readonly expiresSec?: number;
}

/** `nft -j list set <family> <table> <set>` inside the namespace → element values (sorted). */
export async function readNftSet(ns: string, family: string, table: string, set: string): Promise<string[]> {
  return (await readNftSetElements(ns, family, table, set)).map((e) => e.value).sort();
}

export async function readNftSetElements(ns: string, family: string, table: string, set: string): Promise<NftElement[]> {
  const { stdout } = await nsExec(ns, 'nft', ['-j', 'list', 'set', family, table, set]);
  const doc = JSON.parse(stdout) as { nftables?: { set?: { elem?: unknown[] } }[] };
  const elems = doc.nftables?.find((x) => x.set)?.set?.elem ?? [];
  return elems.map(nftElement);
}

function nftElement(e: unknown): NftElement {
  if (typeof e === 'string') return { value: e };
  if (typeof e === 'object' && e !== null) {
    const o = e as Record<string, unknown>;
    if ('elem' in o) {
      const inner = o.elem as Record<string, unknown>;
      const v = nftElement(inner.val);
      return {
        value: v.value,
        ...(typeof inner.timeout === 'number' ? { timeoutSec: inner.timeout } : {}),
        ...(typeof inner.expires === 'number' ? { expiresSec: inner.expires } : {}),
      };
    }
    if ('prefix' in o) {
      const p = o.prefix as { addr: string; len: number };
      return { value: `${p.addr}/${p.len}` };
    }
    if ('range' in o) {
      const r = o.range as [string, string];
      return { value: `${r[0]}-${r[1]}` };
    }
  }
  return { value: JSON.stringify(e) };
}

// ---------------------------------------------------------------------------------------------- agent

export interface AgentOptions {
  readonly ns?: string;
  /** LAPI the agent pushes alerts to (real or ours). */
  readonly lapiUrl: string;
  readonly machineId: string;
  readonly password: string;
  /** Log file to tail (syslog format, e.g. an auth.log with sshd lines); created if missing. */
  readonly logFile: string;
  readonly dir?: string;
}

/**
 * A crowdsec agent with its API server disabled (`-no-api`), logging in as a watcher to `lapiUrl` and tailing
 * `logFile` with the sshd parsers and the ssh-bf / ssh-slow-bf scenarios from Debian's offline hub. The file is
 * tailed from its end: append lines after `start()` resolves. Private IPs are whitelisted by the enrich stage
 * (crowdsecurity/whitelists: 10/8, 172.16/12, 192.168/16, 127/8), so attack from e.g. 192.0.2.x / 203.0.113.x.
 * ssh-bf: 6 failed logins from one IP within ~10 s → one alert (remediation true; the LAPI's profile makes
 * the 4h ban).
 */
export class CrowdsecAgent {
  private child: ChildProcess | undefined;
  /** ms from spawn to the agent's "Starting processing data" line. */
  lastStartMs = 0;
  private constructor(readonly opts: AgentOptions, readonly dir: string, private readonly ownDir: boolean) {}

  get configPath(): string { return join(this.dir, 'etc', 'config.yaml'); }
  get outFile(): string { return join(this.dir, 'log', 'agent.log'); }
  get pid(): number | undefined { return this.child?.pid; }

  static async start(opts: AgentOptions): Promise<CrowdsecAgent> {
    const ownDir = opts.dir === undefined;
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'gh-cs-agent-')));
    const a = new CrowdsecAgent(opts, dir, ownDir);
    try {
      await a.writeConfig();
      await a.start();
    } catch (err) {
      await a.stop().catch(() => {});
      throw err;
    }
    return a;
  }

  private async writeConfig(): Promise<void> {
    const d = this.dir;
    for (const sub of ['etc/parsers/s00-raw', 'etc/parsers/s01-parse', 'etc/parsers/s02-enrich', 'etc/scenarios',
      'etc/postoverflows', 'etc/collections', 'data', 'log']) {
      await mkdir(join(d, sub), { recursive: true });
    }
    // Symlinks into the offline hub, as the postinst makes them: only what ssh-bf needs, so that no scenario
    // asks for a data file (http-* scenarios do) that a private data dir lacks.
    const links: [string, string][] = [
      ['parsers/s00-raw/syslog-logs.yaml', 'parsers/s00-raw/crowdsecurity/syslog-logs.yaml'],
      ['parsers/s01-parse/sshd-logs.yaml', 'parsers/s01-parse/crowdsecurity/sshd-logs.yaml'],
      ['parsers/s02-enrich/dateparse-enrich.yaml', 'parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml'],
      ['parsers/s02-enrich/whitelists.yaml', 'parsers/s02-enrich/crowdsecurity/whitelists.yaml'],
      ['scenarios/ssh-bf.yaml', 'scenarios/crowdsecurity/ssh-bf.yaml'],
      ['scenarios/ssh-slow-bf.yaml', 'scenarios/crowdsecurity/ssh-slow-bf.yaml'],
    ];
    const { symlink } = await import('node:fs/promises');
    for (const [local, hub] of links) await symlink(join(HUB_DIR, hub), join(d, 'etc', local)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await cp(`${SYSTEM_ETC}/patterns`, join(d, 'etc', 'patterns'), { recursive: true, dereference: true });
    await cp(`${SYSTEM_ETC}/simulation.yaml`, join(d, 'etc', 'simulation.yaml'));
    if (!existsSync(this.opts.logFile)) await writeFile(this.opts.logFile, '');
    await writeFile(join(d, 'etc', 'acquis.yaml'), `filenames:\n  - ${this.opts.logFile}\nlabels:\n  type: syslog\n`);
    await writeFile(join(d, 'etc', 'local_api_credentials.yaml'),
      `url: ${this.opts.lapiUrl.endsWith('/') ? this.opts.lapiUrl : `${this.opts.lapiUrl}/`}\nlogin: ${this.opts.machineId}\npassword: ${this.opts.password}\n`);
    await writeFile(this.configPath, `common:
  daemonize: false
  log_media: stdout
  log_level: info
  working_dir: ${d}
config_paths:
  config_dir: ${d}/etc/
  data_dir: ${d}/data/
  simulation_path: ${d}/etc/simulation.yaml
  hub_dir: ${HUB_DIR}/
  index_path: ${HUB_DIR}/.index.json
  notification_dir: ${d}/etc/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: ${d}/etc/acquis.yaml
  parser_routines: 1
  buckets_routines: 1
  output_routines: 1
api:
  client:
    insecure_skip_verify: true
    credentials_path: ${d}/etc/local_api_credentials.yaml
prometheus:
  enabled: false
  level: full
  listen_addr: 127.0.0.1
  listen_port: 6060
`);
  }

  async start(timeoutMs = 30_000): Promise<void> {
    const t0 = Date.now();
    const before = (await this.log()).length;
    this.child = spawnLogged(this.opts.ns, CROWDSEC_BIN, ['-c', this.configPath, '-no-api', '-info'], this.outFile);
    const child = this.child;
    await waitFor(`crowdsec agent startup (log: ${this.outFile})`, timeoutMs, async () => {
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}: ${(await this.log()).slice(-2000)}`);
      return /Starting processing data/.test((await this.log()).slice(before));
    });
    this.lastStartMs = Date.now() - t0;
  }

  async log(): Promise<string> {
    return readFile(this.outFile, 'utf8').catch(() => '');
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
    this.child = undefined;
    if (this.ownDir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** sshd "Failed password" lines in syslog format, timestamped now, for the ssh-bf scenario. */
export function sshFailedLogins(ip: string, count: number, user = 'root', host = 'gw'): string {
  const now = new Date();
  const month = now.toLocaleString('en-US', { month: 'short' });
  const day = String(now.getDate()).padStart(2, ' ');
  const time = now.toTimeString().slice(0, 8);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(`${month} ${day} ${time} ${host} sshd[${1000 + i}]: Failed password for ${user} from ${ip} port ${40000 + i} ssh2`);
  }
  return lines.join('\n') + '\n';
}
