/**
 * Gatehouse's CrowdSec feed against the real crowdsec 1.4.6 LAPI (Debian package), through the daemon
 * itself: `gatehouse run` in a lab's gateway with a `feeds:` entry of type crowdsec, the LAPI on the lab's
 * internet, decisions made with cscli, what the gateway holds read with the CLI and its log.
 * Needs root, a build, and `scripts/install-peers.sh`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Decision } from '../../src/decisions/types.js';
import type { FeedStatus } from '../../src/feeds/index.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { CrowdsecLapi, crowdsecInstalled, CROWDSEC_MISSING } from './peers/crowdsec.js';

const skip = skipReason ?? (crowdsecInstalled() ? false : CROWDSEC_MISSING);
const FEED = 'cs';
const ORIGIN = `feed:${FEED}`;

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The daemon's JSON log lines about this feed's updates, in order. */
interface SyncLine {
  readonly msg: 'crowdsec full sync' | 'crowdsec delta';
  readonly feed: string;
  readonly added?: number;
  readonly deleted?: number;
  readonly time: number;
}

describe('the daemon\'s CrowdSec feed pulls, follows and survives a real crowdsec 1.4.6 LAPI', { skip, timeout: 180_000 }, () => {
  let g: GatewayLab;
  let lapi: CrowdsecLapi;
  const held = () => g.cliJson<Decision[]>(['decisions', 'list', '--origin', ORIGIN]);
  const feed = async () => (await g.cliJson<FeedStatus[]>(['feeds', 'list'])).find((f) => f.name === FEED)!;
  const syncs = async (): Promise<SyncLine[]> =>
    (await g.log()).split('\n').flatMap((l) => {
      try {
        const j = JSON.parse(l) as SyncLine;
        return j.feed === FEED && (j.msg === 'crowdsec full sync' || j.msg === 'crowdsec delta') ? [j] : [];
      } catch {
        return [];
      }
    });

  before(async () => {
    g = await GatewayLab.start('n6cs');
    const t = g.topo;
    lapi = await CrowdsecLapi.start({ ns: t.namespaces.inet, host: t.sites.legit.ipv4, port: 8080 });
    const key = await lapi.addBouncer('gatehouse-e2e');
    await lapi.addDecision({ ip: '192.0.2.10', duration: '4h', reason: 'e2e/ip' });
    await lapi.addDecision({ range: '198.51.100.0/24', duration: '30m', reason: 'e2e/range' });
    await lapi.addDecision({ ip: '2001:db8::10', duration: '1h', reason: 'e2e/ipv6' });
    await lapi.addDecision({ ip: '192.0.2.20', duration: '15m', type: 'captcha', reason: 'e2e/captcha' });
    await lapi.addDecision({ scope: 'username', value: 'baduser', duration: '2h', reason: 'e2e/user' });
    await g.writeConfig({ feeds: [{ name: FEED, type: 'crowdsec', url: `${lapi.url}/`, api_key: key, refresh: '1s', direction: 'inbound' }] });
    await g.startDaemon();
  });
  after(async () => {
    await g?.close();
    await lapi?.destroy().catch(() => undefined);
  });

  test('startup: bans of scope Ip/Range only, with their remaining durations, origin and scenario', async () => {
    const ds = await until('the startup sync', async () => {
      const l = await held();
      return l.some((d) => d.value === '192.0.2.10') ? l : undefined;
    });
    const got = new Map(ds.map((d) => [d.value, d]));
    assert.deepEqual([...got.keys()].filter((v) => !v.startsWith('203.')).sort(), ['192.0.2.10', '198.51.100.0/24', '2001:db8::10']);
    const near = (v: string, sec: number) => {
      const left = (got.get(v)!.expiresAt! - Date.now()) / 1000;
      assert.ok(left <= sec && left > sec - 60, `${v}: ${left}s left, expected about ${sec}s`);
    };
    near('192.0.2.10', 4 * 3600);
    near('198.51.100.0/24', 30 * 60);
    near('2001:db8::10', 3600);
    assert.equal(got.get('192.0.2.10')!.origin, ORIGIN);
    assert.equal(got.get('192.0.2.10')!.scenario, 'e2e/ip');
    assert.equal(got.get('192.0.2.10')!.reason, 'crowdsec: e2e/ip (cscli)');
    assert.equal(got.get('192.0.2.10')!.direction, 'inbound');
  });

  test('an addition arrives as a delta; a deletion arrives once, though the LAPI repeats it for 2 s', async () => {
    await lapi.addDecision({ ip: '203.0.113.40', duration: '2h', reason: 'e2e/new' });
    const added = await until('203.0.113.40 held', async () => (await held()).find((d) => d.value === '203.0.113.40'));
    assert.ok(added.expiresAt! - Date.now() > 7100_000);

    const mark = (await syncs()).length;
    assert.equal(await lapi.deleteDecisions({ ip: '203.0.113.40' }), 1);
    const deletedAt = Date.now();
    await until('203.0.113.40 gone', async () => ((await held()).some((d) => d.value === '203.0.113.40') ? undefined : true));
    // Until a poll after the LAPI's 2 s repeat window went through: every repeat has been seen by then.
    await until('a successful poll past the repeat window', async () => ((await feed()).lastSuccessAt ?? 0) > deletedAt + 2500 ? true : undefined);
    const deltas = (await syncs()).slice(mark).filter((s) => s.msg === 'crowdsec delta' && (s.deleted ?? 0) > 0);
    assert.equal(deltas.length, 1, `the LAPI repeats deletions for 2 s; the feed applies them once: ${JSON.stringify(deltas)}`);
  });

  test('LAPI down: the feed says so and keeps what it holds; back up: a full resync, then deltas again', async () => {
    const before = (await held()).length;
    await lapi.stop();
    const down = await until('the feed to report the LAPI down', async () => {
      const f = await feed();
      return /keeping/.test(f.warning ?? '') ? f : undefined;
    });
    assert.match(down.warning ?? '', new RegExp(`keeping the ${before} decisions already enforced`));
    assert.equal((await held()).length, before, 'the decisions are still held');

    const mark = (await syncs()).length;
    await lapi.start();
    await until('a full resync after the restart', async () => ((await syncs()).slice(mark).some((s) => s.msg === 'crowdsec full sync') ? true : undefined));
    assert.equal((await feed()).warning, null);
    assert.ok((await held()).some((d) => d.value === '198.51.100.0/24'));
    await lapi.deleteDecisions({ range: '198.51.100.0/24' });
    await until('the range deleted by a delta', async () => ((await held()).some((d) => d.value === '198.51.100.0/24') ? undefined : true));
  });
});
