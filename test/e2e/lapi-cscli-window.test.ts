import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError, nsExec } from '../../src/lab/ns.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';

/*
 * Issue #9: CrowdSec's own cscli (Debian's 1.4.6), pointed at Gatehouse's LAPI with credentials from
 * `gatehouse machines add`, shows what Gatehouse enforces: live decisions under their alerts, manual and
 * feed decisions under one alert per origin, `alerts inspect` and `alerts delete` working, and a watcher
 * deleting only what `lapi.machines` lets it.
 */

const CSCLI = '/usr/bin/cscli';
const PASSWORD = 'n5-cscli-watcher-passw0rd';
const skip = skipReason ?? (existsSync(CSCLI) ? undefined : 'real cscli not installed (sudo bash scripts/install-peers.sh)');

interface WireDecision {
  id: number;
  value: string;
  origin: string;
  scenario: string;
}
interface WireAlert {
  id: number;
  scenario: string;
  machine_id: string;
  source: { scope?: string; value?: string };
  decisions: WireDecision[];
}

describe('cscli is a faithful window on what Gatehouse enforces', { skip, timeout: 300_000 }, () => {
  let g: GatewayLab;
  let config: string;

  /** Real cscli on LAN client c1, logged in as watcher n5w through its own config. */
  async function cscli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const r = await nsExec(g.topo.namespaces.c1, CSCLI, ['-c', config, ...args], { timeoutMs: 30_000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      return { code: e.exitCode ?? -1, stdout: e.stdout, stderr: e.stderr };
    }
  }
  async function json<T>(args: readonly string[]): Promise<T> {
    const r = await cscli(['-o', 'json', ...args]);
    assert.equal(r.code, 0, `cscli ${args.join(' ')}: ${r.stderr}`);
    return (JSON.parse(r.stdout.trim() || 'null') ?? []) as T;
  }
  const decisionsOf = (alerts: WireAlert[]) => alerts.flatMap((a) => a.decisions.map((d) => ({ ...d, alert: a.id })));

  before(async () => {
    g = await GatewayLab.start('n5a');
    const t = g.topo;
    const list = join(g.dir, 'n5-feed.txt');
    await writeFile(list, '# a local list\n203.0.113.77\n198.51.100.0/24\n');
    await g.writeConfig({
      feeds: [{ name: 'n5list', type: 'file', path: list, format: 'plain', direction: 'outbound', refresh: '1h' }],
      lapi: { listen: `${t.gateway.lanIpv4}:8082`, profile: { duration: '4h', direction: 'both' } },
    });
    await g.startDaemon();
    const add = await g.cli(['machines', 'add', 'n5w', '--password', PASSWORD]);
    assert.equal(add.code, 0, add.stderr);
    const dir = g.dir;
    config = join(dir, 'cscli.yaml');
    await writeFile(
      config,
      `common:\n  daemonize: false\n  log_media: stdout\n  log_level: info\n  working_dir: ${dir}\n` +
        `config_paths:\n  config_dir: ${dir}/\n  data_dir: ${dir}/\n  simulation_path: ${dir}/simulation.yaml\n` +
        `  hub_dir: /var/lib/crowdsec/hub/\n  index_path: /var/lib/crowdsec/hub/.index.json\n` +
        `cscli:\n  output: human\n  color: "no"\napi:\n  client:\n    credentials_path: ${dir}/cscli-credentials.yaml\n`,
    );
    await writeFile(join(dir, 'simulation.yaml'), 'simulation: false\n');
    await writeFile(join(dir, 'cscli-credentials.yaml'), `url: http://${t.gateway.lanIpv4}:8082\nlogin: n5w\npassword: ${PASSWORD}\n`);
    // The feed loads at start; wait for it so its decisions are there to be listed.
    for (let i = 0; i < 100 && (await g.cliJson<{ entries: number }[]>(['feeds', 'list']))[0]?.entries !== 2; i++) await new Promise((r) => setTimeout(r, 100));
  });
  after(async () => {
    await g?.close();
  });

  test('lapi status works with credentials from gatehouse machines add', async () => {
    const r = await cscli(['lapi', 'status']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /successfully interact with Local API/);
  });

  test('decisions list shows a manual ban; -a also shows the feed, each under its origin alert', async () => {
    assert.equal((await g.cli(['decisions', 'add', '192.0.2.201', '--reason', 'n5 manual ban'])).code, 0);
    const local = decisionsOf(await json<WireAlert[]>(['decisions', 'list']));
    const manual = local.find((d) => d.value === '192.0.2.201');
    assert.ok(manual, `manual ban missing from cscli decisions list: ${JSON.stringify(local)}`);
    assert.equal(manual.origin, 'manual');
    assert.ok(!local.some((d) => d.origin === 'feed:n5list'), 'feeds are lists: shown with -a only, as CrowdSec does');
    const all = await json<WireAlert[]>(['decisions', 'list', '-a']);
    const feed = all.find((a) => a.source.value === 'feed:n5list');
    assert.deepEqual(feed?.decisions.map((d) => d.value).sort(), ['198.51.100.0/24', '203.0.113.77']);
  });

  test('decisions added by cscli appear, and are gone from decisions list once deleted', async () => {
    const add = await cscli(['decisions', 'add', '--ip', '192.0.2.202', '--duration', '1h', '--reason', 'n5/cscli']);
    assert.equal(add.code, 0, add.stderr);
    const listed = decisionsOf(await json<WireAlert[]>(['decisions', 'list']));
    assert.ok(listed.some((d) => d.value === '192.0.2.202' && d.origin === 'lapi:n5w'), JSON.stringify(listed));
    const del = await cscli(['decisions', 'delete', '--ip', '192.0.2.202']);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout + del.stderr, /1 decision\(s\) deleted/);
    const after = decisionsOf(await json<WireAlert[]>(['decisions', 'list']));
    assert.ok(!after.some((d) => d.value === '192.0.2.202'), `deleted decision still listed: ${JSON.stringify(after)}`);
    const kernel = await g.cliJson<unknown[]>(['decisions', 'list', '--value', '192.0.2.202']);
    assert.deepEqual(kernel, [], 'and Gatehouse no longer enforces it');
  });

  test('alerts inspect shows an alert with its live decisions', async () => {
    assert.equal((await cscli(['decisions', 'add', '--ip', '192.0.2.203', '--duration', '1h'])).code, 0);
    const alert = (await json<WireAlert[]>(['alerts', 'list'])).find((a) => a.decisions.some((d) => d.value === '192.0.2.203'));
    assert.ok(alert);
    const r = await cscli(['alerts', 'inspect', String(alert.id)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`ID\\s+: ${alert.id}\\b`));
    assert.match(r.stdout, /Ip:192\.0\.2\.203/);
    const standIn = (await json<WireAlert[]>(['alerts', 'list'])).find((a) => a.source.value === 'manual');
    assert.ok(standIn, 'the manual decisions have an alert of their own');
    const s = await cscli(['alerts', 'inspect', String(standIn.id)]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /Ip:192\.0\.2\.201/);
  });

  test('alerts delete: a watcher deletes its own alerts and their decisions, not the admin\'s', async () => {
    const mine = (await json<WireAlert[]>(['alerts', 'list'])).find((a) => a.decisions.some((d) => d.value === '192.0.2.203'));
    assert.ok(mine);
    const del = await cscli(['alerts', 'delete', '--id', String(mine.id)]);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(await g.cliJson<unknown[]>(['decisions', 'list', '--value', '192.0.2.203']), [], 'its decision is no longer enforced');
    const inspect = await cscli(['alerts', 'inspect', String(mine.id)]);
    assert.notEqual(inspect.code, 0, 'the deleted alert is gone');

    const standIn = (await json<WireAlert[]>(['alerts', 'list'])).find((a) => a.source.value === 'manual')!;
    const refused = await cscli(['alerts', 'delete', '--id', String(standIn.id)]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout + refused.stderr, /lapi\.machines/);
    const all = await cscli(['alerts', 'delete', '--all']);
    assert.equal(all.code === 0 || /lapi\.machines/.test(all.stderr + all.stdout), true, all.stderr);
    assert.equal((await g.cliJson<unknown[]>(['decisions', 'list', '--value', '192.0.2.201'])).length, 1, 'the manual ban stays');
  });
});
