/**
 * Our LAPI against the real CrowdSec peers (Debian 12: crowdsec-firewall-bouncer 0.0.25, crowdsec 1.4.6
 * agent). Two namespaces joined by a veth pair: "lapi" runs our server (a child node process, since a
 * socket cannot be opened in another namespace from here), "peer" runs the bouncer and the agent. The test
 * drives decisions through the child's stdin and reads the bouncer's nft sets in "peer".
 * Needs root and `sudo bash scripts/install-peers.sh`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ipIn, netnsPath } from '../../src/lab/ns.js';
import { canUseNetns, createTestNetns, type TestNetns } from './peers/netns.js';
import {
  CROWDSEC_MISSING,
  CrowdsecAgent,
  FirewallBouncer,
  crowdsecInstalled,
  firewallBouncerInstalled,
  readNftSetElements,
  sshFailedLogins,
} from './peers/crowdsec.js';

const ROOT = resolve(import.meta.dirname, '../..');
const LAPI_IP = '10.231.77.1';
const PEER_IP = '10.231.77.2';
const PORT = 8080;
const BOUNCER_KEY = 'e2e0123456789abcdef0123456789abc';
const MACHINE = { id: 'e2e-agent', password: 'e2eAgentPassw0rd-long-enough' };

const skip = !canUseNetns() ? 'needs root (network namespaces)' : !firewallBouncerInstalled() || !crowdsecInstalled() ? CROWDSEC_MISSING : false;

/** The server child: our LAPI on the veth address, plus a line-based control channel on stdin/stdout. */
const SERVER = `
import Fastify from 'fastify';
import { createInterface } from 'node:readline';
import { openDecisionStore } from '${ROOT}/src/decisions/store-service.ts';
import { LapiCredentials } from '${ROOT}/src/store/lapi-credentials.ts';
import { lapiMigrations } from '${ROOT}/src/store/lapi-schema.ts';
import { lapiRoutes } from '${ROOT}/src/crowdsec/lapi/routes.ts';
const e = process.env;
const store = openDecisionStore(e.LAPI_DIR, { migrations: [lapiMigrations] });
const creds = new LapiCredentials(store.db);
creds.addBouncer('fw', e.LAPI_KEY);
creds.addMachine(e.LAPI_MACHINE, e.LAPI_PASSWORD);
const app = Fastify({ logger: false });
await app.register(lapiRoutes({ decisions: store.service, events: store.events, credentials: creds, db: store.db, profile: { durationMs: 4 * 3600e3, direction: 'both' }, jwtSecret: Buffer.alloc(32, 9) }));
await app.listen({ host: e.LAPI_HOST, port: Number(e.LAPI_PORT) });
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
out({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  const c = JSON.parse(line);
  try {
    if (c.op === 'add') out({ id: c.id, ok: store.service.add({ value: c.value, origin: c.origin ?? 'manual', scenario: c.scenario ?? 'e2e/manual', durationSec: c.durationSec }) });
    else if (c.op === 'delete') out({ id: c.id, ok: store.service.deleteWhere({ value: c.value, ...(c.origin ? { origin: c.origin } : {}) }).length });
    else if (c.op === 'list') out({ id: c.id, ok: store.service.list() });
    else if (c.op === 'bouncers') out({ id: c.id, ok: creds.listBouncers() });
  } catch (err) { out({ id: c.id, error: String(err) }); }
}
await app.close();
store.close();
`;

class LapiChild {
  private next = 1;
  private readonly waiting = new Map<number, (v: { ok?: unknown; error?: string }) => void>();
  private constructor(readonly child: ChildProcess) {}

  static async start(ns: string, dir: string): Promise<LapiChild> {
    const child = spawn('nsenter', [`--net=${netnsPath(ns)}`, process.execPath, '--import', 'tsx', '--input-type=module', '-e', SERVER], {
      cwd: ROOT,
      env: { ...process.env, LAPI_DIR: dir, LAPI_KEY: BOUNCER_KEY, LAPI_MACHINE: MACHINE.id, LAPI_PASSWORD: MACHINE.password, LAPI_HOST: LAPI_IP, LAPI_PORT: String(PORT) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const c = new LapiChild(child);
    const ready = new Promise<void>((res, rej) => {
      child.once('exit', (code) => rej(new Error(`LAPI child exited with ${code}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = JSON.parse(line) as { ready?: boolean; id?: number; ok?: unknown; error?: string };
        if (m.ready) return res();
        if (m.id !== undefined) c.waiting.get(m.id)?.(m);
      });
    });
    await Promise.race([ready, new Promise((_, rej) => setTimeout(() => rej(new Error('LAPI child did not start in 30 s')), 30_000))]);
    return c;
  }

  async cmd<T>(c: Record<string, unknown>): Promise<T> {
    const id = this.next++;
    const r = await new Promise<{ ok?: unknown; error?: string }>((res) => {
      this.waiting.set(id, res);
      this.child.stdin!.write(JSON.stringify({ ...c, id }) + '\n');
    });
    if (r.error) throw new Error(r.error);
    return r.ok as T;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
}

test('real crowdsec-firewall-bouncer and crowdsec agent work against our LAPI', { skip, timeout: 180_000 }, async () => {
  let lapiNs: TestNetns | undefined;
  let peerNs: TestNetns | undefined;
  let server: LapiChild | undefined;
  let bouncer: FirewallBouncer | undefined;
  let agent: CrowdsecAgent | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'lapi-e2e-'));
  try {
    lapiNs = await createTestNetns('ghlapi');
    peerNs = await createTestNetns('ghpeer');
    await ipIn(lapiNs.name, ['link', 'add', 'lapi0', 'type', 'veth', 'peer', 'name', 'peer0', 'netns', peerNs.name]);
    await ipIn(lapiNs.name, ['addr', 'add', `${LAPI_IP}/24`, 'dev', 'lapi0']);
    await ipIn(peerNs.name, ['addr', 'add', `${PEER_IP}/24`, 'dev', 'peer0']);
    await ipIn(lapiNs.name, ['link', 'set', 'lapi0', 'up']);
    await ipIn(peerNs.name, ['link', 'set', 'peer0', 'up']);

    server = await LapiChild.start(lapiNs.name, join(dir, 'data'));
    await server.cmd({ op: 'add', value: '192.0.2.10', durationSec: 4 * 3600 });
    await server.cmd({ op: 'add', value: '198.51.100.0/24', durationSec: 1800 });
    await server.cmd({ op: 'add', value: '2001:db8::10', durationSec: 3600 });

    bouncer = await FirewallBouncer.start({ ns: peerNs.name, lapiUrl: `http://${LAPI_IP}:${PORT}`, apiKey: BOUNCER_KEY, updateFrequency: '1s' });
    const v4 = async () => (await bouncer!.setElements(4)).sort();
    // Startup stream: the IPv4 host, the range (0.0.25 truncates it to its first address), and the IPv6 host.
    await waitUntil('startup decisions in the nft sets', 15_000, async () => (await v4()).includes('192.0.2.10') && (await bouncer!.setElements(6)).includes('2001:db8::10'));
    assert.deepEqual(await v4(), ['192.0.2.10', '198.51.100.0']);
    const el = (await readNftSetElements(peerNs.name, 'ip', bouncer.table4, bouncer.set4)).find((e) => e.value === '192.0.2.10');
    assert.ok(el?.timeoutSec !== undefined && el.timeoutSec > 4 * 3600 - 60 && el.timeoutSec <= 4 * 3600, `timeout from our Go duration: ${JSON.stringify(el)}`);

    // Deltas: an added decision arrives, a deleted one leaves.
    await server.cmd({ op: 'add', value: '192.0.2.40', durationSec: 7200 });
    await waitUntil('added decision in the set', 10_000, async () => (await v4()).includes('192.0.2.40'));
    await server.cmd({ op: 'delete', value: '192.0.2.10' });
    await waitUntil('deleted decision gone from the set', 10_000, async () => !(await v4()).includes('192.0.2.10'));

    // Two decisions on one IP, one deleted: the bouncer must keep blocking it.
    await server.cmd({ op: 'add', value: '192.0.2.50', durationSec: 3600, origin: 'manual' });
    await server.cmd({ op: 'add', value: '192.0.2.50', durationSec: 600, origin: 'feed:e2e' });
    await waitUntil('doubly banned IP in the set', 10_000, async () => (await v4()).includes('192.0.2.50'));
    await server.cmd({ op: 'delete', value: '192.0.2.50', origin: 'feed:e2e' });
    await new Promise((r) => setTimeout(r, 3500));
    assert.ok((await v4()).includes('192.0.2.50'), 'still banned by the other decision');
    const [fw] = await server.cmd<{ type: string; lastPull: number | null }[]>({ op: 'bouncers' });
    assert.equal(fw?.type, 'crowdsec-firewall-bouncer');
    assert.ok(fw?.lastPull !== null && Date.now() - fw!.lastPull < 5000, 'last pull recorded server-side');

    // The real agent logs in as a watcher, detects ssh brute force and pushes an alert; the profile bans.
    const authLog = join(dir, 'auth.log');
    agent = await CrowdsecAgent.start({ ns: peerNs.name, lapiUrl: `http://${LAPI_IP}:${PORT}`, machineId: MACHINE.id, password: MACHINE.password, logFile: authLog });
    await appendFile(authLog, sshFailedLogins('203.0.113.77', 8));
    await waitUntil('alert from the agent became a decision', 40_000, async () =>
      (await server!.cmd<{ value: string; origin: string }[]>({ op: 'list' })).some((d) => d.value === '203.0.113.77' && d.origin === `lapi:${MACHINE.id}`),
    );
    await waitUntil('agent decision enforced by the bouncer', 10_000, async () => (await v4()).includes('203.0.113.77'));
  } finally {
    await agent?.stop().catch(() => {});
    await bouncer?.stop().catch(() => {});
    await server?.stop().catch(() => {});
    await peerNs?.remove();
    await lapiNs?.remove();
    await rm(dir, { recursive: true, force: true });
  }
});
