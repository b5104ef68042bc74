/**
 * Checks the shared real-peer runners (test/e2e/peers/crowdsec.ts) that other e2e suites build on:
 * the real firewall bouncer fills its nft set from a private LAPI, and a real agent turns failed ssh logins
 * into an alert the LAPI bans. Needs root and `scripts/install-peers.sh`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNetns, canUseNetns } from './peers/netns.js';
import {
  CrowdsecAgent, CrowdsecLapi, FirewallBouncer, crowdsecInstalled, firewallBouncerInstalled, sshFailedLogins, CROWDSEC_MISSING,
} from './peers/crowdsec.js';

const skip = !canUseNetns() ? 'needs root (network namespaces)' : !crowdsecInstalled() || !firewallBouncerInstalled() ? CROWDSEC_MISSING : false;

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('real firewall bouncer and agent against a private LAPI in a namespace', { skip, timeout: 120_000 }, async () => {
  const ns = await createTestNetns('ghcsp');
  const work = await mkdtemp(join(tmpdir(), 'gh-cs-peers-'));
  let lapi: CrowdsecLapi | undefined;
  let bouncer: FirewallBouncer | undefined;
  let agent: CrowdsecAgent | undefined;
  try {
    lapi = await CrowdsecLapi.start({ ns: ns.name, port: 18080 });
    assert.ok(lapi.lastStartMs < 15_000);
    const key = await lapi.addBouncer('fw');
    await lapi.addDecision({ ip: '192.0.2.10', duration: '1h' });
    await lapi.addDecision({ ip: '2001:db8::10', duration: '1h' });
    bouncer = await FirewallBouncer.start({ ns: ns.name, lapiUrl: lapi.url, apiKey: key });
    await until('192.0.2.10 in the bouncer set', async () => ((await bouncer!.setElements(4)).includes('192.0.2.10') ? true : undefined));
    assert.deepEqual(await bouncer.setElements(6), ['2001:db8::10']);
    await lapi.deleteDecisions({ ip: '192.0.2.10' });
    await until('192.0.2.10 gone', async () => ((await bouncer!.setElements(4)).includes('192.0.2.10') ? undefined : true));

    await lapi.addMachine('agent-1', 'agentPassw0rdForTests');
    const authLog = join(work, 'auth.log');
    agent = await CrowdsecAgent.start({ ns: ns.name, lapiUrl: lapi.url, machineId: 'agent-1', password: 'agentPassw0rdForTests', logFile: authLog });
    await appendFile(authLog, sshFailedLogins('203.0.113.7', 8));
    // ssh-bf overflows → alert → the LAPI's default profile bans 4h → the firewall bouncer picks it up.
    await until('agent ban in the bouncer set', async () => ((await bouncer!.setElements(4)).includes('203.0.113.7') ? true : undefined), 20_000);
    const raw = await lapi.cscli(['-o', 'raw', 'decisions', 'list']);
    assert.match(raw, /crowdsec,Ip:203\.0\.113\.7,crowdsecurity\/ssh-bf,ban/);
  } finally {
    await agent?.stop().catch(() => {});
    await bouncer?.stop().catch(() => {});
    await lapi?.destroy().catch(() => {});
    await ns.remove();
    await rm(work, { recursive: true, force: true });
  }
});
