/**
 * Our LAPI against the real CrowdSec peers (Debian 12: crowdsec-firewall-bouncer 0.0.25, crowdsec 1.4.6
 * agent), served by the daemon itself: `gatehouse run` in a lab's gateway with a `lapi:` section (listen,
 * trusted_ips, profile), credentials from `gatehouse bouncers add` / `machines add`, decisions from the
 * CLI. The peers run on client1 of the lab and talk to the gateway's LAN address, as a LAN server would.
 * Needs root, a build, and `sudo bash scripts/install-peers.sh`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { httpGetFrom } from '../../src/lab/probe.js';
import { labTopology } from '../../src/lab/topology.js';
import type { Decision } from '../../src/decisions/types.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import {
  CROWDSEC_MISSING,
  CrowdsecAgent,
  FirewallBouncer,
  crowdsecInstalled,
  firewallBouncerInstalled,
  readNftSetElements,
  sshFailedLogins,
} from './peers/crowdsec.js';

const PREFIX = 'n6rp';
const LAPI = `${labTopology(PREFIX).gateway.lanIpv4}:8080`;
const BOUNCER_KEY = 'e2e0123456789abcdef0123456789abc';
const MACHINE = { id: 'e2e-agent', password: 'e2eAgentPassw0rd-long-enough' };

const skip = skipReason ?? (!firewallBouncerInstalled() || !crowdsecInstalled() ? CROWDSEC_MISSING : false);

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
}

interface BouncerRow {
  readonly name: string;
  readonly type: string;
  readonly lastPull: number | null;
}

describe('real crowdsec-firewall-bouncer and crowdsec agent against the daemon\'s LAPI', { skip, timeout: 240_000 }, () => {
  let g: GatewayLab;
  let bouncer: FirewallBouncer | undefined;
  let agent: CrowdsecAgent | undefined;
  const v4 = async () => (await bouncer!.setElements(4)).sort();
  const add = async (value: string, duration: string) => {
    const r = await g.cli(['decisions', 'add', value, '--duration', duration]);
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    g = await GatewayLab.start(PREFIX, {
      // Only client1 may use the LAPI, whatever key another host holds.
      lapi: { listen: LAPI, trusted_ips: [labTopology(PREFIX).clients[0].ipv4], profile: { direction: 'both' } },
    });
    await g.startDaemon();
    assert.equal((await g.cli(['bouncers', 'add', 'fw', '--key', BOUNCER_KEY])).code, 0);
    assert.equal((await g.cli(['machines', 'add', MACHINE.id, '--password', MACHINE.password])).code, 0);
    await add('203.0.113.10', '4h');
    await add('198.18.100.0/24', '30m');
    await add('2001:db8::10', '1h');
    bouncer = await FirewallBouncer.start({ ns: g.topo.namespaces.c1, lapiUrl: `http://${LAPI}`, apiKey: BOUNCER_KEY, updateFrequency: '1s' });
  });
  after(async () => {
    await agent?.stop().catch(() => {});
    await bouncer?.stop().catch(() => {});
    if (g) await g.close();
  });

  test('startup stream: hosts and ranges of both families in the bouncer\'s sets, with our durations', async () => {
    await waitUntil('startup decisions in the nft sets', 15_000, async () => (await v4()).includes('203.0.113.10') && (await bouncer!.setElements(6)).includes('2001:db8::10'));
    // 0.0.25 truncates a range to its first address. (Other tests' decisions may be there too.)
    assert.deepEqual((await v4()).filter((v) => v.startsWith('198.18.100.') || v === '203.0.113.10'), ['198.18.100.0', '203.0.113.10']);
    const el = (await readNftSetElements(g.topo.namespaces.c1, 'ip', bouncer!.table4, bouncer!.set4)).find((e) => e.value === '203.0.113.10');
    assert.ok(el?.timeoutSec !== undefined && el.timeoutSec > 4 * 3600 - 60 && el.timeoutSec <= 4 * 3600, `timeout from our Go duration: ${JSON.stringify(el)}`);
  });

  test('deltas: an added decision arrives, a deleted one leaves', async () => {
    await add('203.0.113.40', '2h');
    await waitUntil('added decision in the set', 10_000, async () => (await v4()).includes('203.0.113.40'));
    assert.equal((await g.cli(['decisions', 'delete', '--value', '203.0.113.40'])).code, 0);
    await waitUntil('deleted decision gone from the set', 10_000, async () => !(await v4()).includes('203.0.113.40'));
  });

  test('two decisions on one IP, one deleted: the bouncer keeps blocking it', async () => {
    await add('203.0.113.50', '1h');
    const list = join(g.dir, 'feed-e2e.txt');
    await writeFile(list, '203.0.113.50\n');
    assert.equal((await g.cli(['decisions', 'import', list, '--origin', 'feed:e2e', '--duration', '10m'])).code, 0);
    await waitUntil('doubly banned IP in the set', 10_000, async () => (await v4()).includes('203.0.113.50'));
    assert.equal((await g.cli(['decisions', 'delete', '--value', '203.0.113.50', '--origin', 'feed:e2e'])).code, 0);
    // Two pulls that began after the delete: the bouncer applied the first (the delta that could have
    // unbanned it) before it began the second.
    const lastPull = async () => (await g.cliJson<BouncerRow[]>(['bouncers', 'list'])).find((b) => b.name === 'fw')?.lastPull ?? 0;
    const deletedAt = Date.now();
    await waitUntil('a pull after the delete', 10_000, async () => (await lastPull()) > deletedAt);
    const first = await lastPull();
    await waitUntil('a second pull after the delete', 10_000, async () => (await lastPull()) > first);
    assert.ok((await v4()).includes('203.0.113.50'), 'still banned by the other decision');
    const [fw] = await g.cliJson<BouncerRow[]>(['bouncers', 'list']);
    assert.equal(fw?.type, 'crowdsec-firewall-bouncer');
    assert.ok(fw?.lastPull !== null && Date.now() - fw!.lastPull < 5000, 'last pull recorded server-side');
  });

  test('trusted_ips: another LAN host is refused with CrowdSec\'s 403, even with a valid key', async () => {
    const r = await httpGetFrom(g.topo.namespaces.c2, `http://${LAPI}/v1/decisions/stream?startup=true`, 3000, { headers: { 'x-api-key': BOUNCER_KEY } });
    assert.equal(r.status, 403, JSON.stringify(r));
    assert.equal(r.body, '{"message":"access forbidden"}');
  });

  test('a daemon restart keeps the bouncer\'s key: its deltas go on', async () => {
    await g.stopDaemon();
    await g.startDaemon();
    await add('203.0.113.60', '1h');
    await waitUntil('decision added after the restart in the set', 10_000, async () => (await v4()).includes('203.0.113.60'));
  });

  test('the real agent logs in as a watcher, pushes an ssh brute-force alert, and the profile bans', async () => {
    const authLog = join(g.dir, 'auth.log');
    agent = await CrowdsecAgent.start({ ns: g.topo.namespaces.c1, lapiUrl: `http://${LAPI}`, machineId: MACHINE.id, password: MACHINE.password, logFile: authLog });
    await appendFile(authLog, sshFailedLogins('203.0.113.77', 8));
    await waitUntil('alert from the agent became a decision', 40_000, async () =>
      (await g.cliJson<Decision[]>(['decisions', 'list', '--value', '203.0.113.77'])).some((d) => d.origin === `lapi:${MACHINE.id}`),
    );
    await waitUntil('agent decision enforced by the bouncer', 10_000, async () => (await v4()).includes('203.0.113.77'));
  });
});
