/**
 * Our CrowdSec bouncer client against the real crowdsec 1.4.6 LAPI (Debian package), both inside a network
 * namespace this test creates. Needs root and `scripts/install-peers.sh`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { netnsPath } from '../../src/lab/ns.js';
import type { LapiUpdate } from '../../src/crowdsec/client/index.js';
import { createTestNetns, canUseNetns } from './peers/netns.js';
import { CrowdsecLapi, crowdsecInstalled, CROWDSEC_MISSING } from './peers/crowdsec.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = !canUseNetns() ? 'needs root (network namespaces)' : !crowdsecInstalled() ? CROWDSEC_MISSING : false;

type DriverEvent =
  | { event: 'started' }
  | { event: 'update'; update: LapiUpdate; held: number }
  | { event: 'error'; message: string; held: number };

/** The client in its own process inside the namespace; events collected as they arrive. */
function startDriver(ns: string, options: Record<string, unknown>) {
  const child: ChildProcess = spawn('nsenter', [`--net=${netnsPath(ns)}`, process.execPath, '--import', 'tsx',
    'test/e2e/peers/csclient-driver.ts', JSON.stringify(options)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const events: DriverEvent[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      events.push(JSON.parse(l) as DriverEvent);
    } catch {
      // not ours (a warning line)
    }
  });
  const waitFor = async <T extends DriverEvent>(what: string, pred: (e: DriverEvent) => e is T, from = 0, ms = 20_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = events.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`timeout waiting for ${what}; events: ${JSON.stringify(events.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, events, waitFor, stop: () => { child.stdin?.end(); child.kill('SIGTERM'); } };
}

const isFull = (e: DriverEvent): e is { event: 'update'; update: Extract<LapiUpdate, { kind: 'full' }>; held: number } =>
  e.event === 'update' && e.update.kind === 'full';
const isDelta = (pred: (u: Extract<LapiUpdate, { kind: 'delta' }>) => boolean) =>
  (e: DriverEvent): e is { event: 'update'; update: Extract<LapiUpdate, { kind: 'delta' }>; held: number } =>
    e.event === 'update' && e.update.kind === 'delta' && pred(e.update);
const isError = (e: DriverEvent): e is { event: 'error'; message: string; held: number } => e.event === 'error';

test('client pulls, follows and survives a real crowdsec 1.4.6 LAPI', { skip, timeout: 120_000 }, async () => {
  const ns = await createTestNetns('ghcsc');
  let lapi: CrowdsecLapi | undefined;
  let driver: ReturnType<typeof startDriver> | undefined;
  try {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    lapi = await CrowdsecLapi.start({ ns: ns.name, port });
    const key = await lapi.addBouncer('gatehouse-e2e');
    await lapi.addDecision({ ip: '192.0.2.10', duration: '4h', reason: 'e2e/ip' });
    await lapi.addDecision({ range: '198.51.100.0/24', duration: '30m', reason: 'e2e/range' });
    await lapi.addDecision({ ip: '2001:db8::10', duration: '1h', reason: 'e2e/ipv6' });
    await lapi.addDecision({ ip: '192.0.2.20', duration: '15m', type: 'captcha', reason: 'e2e/captcha' });
    await lapi.addDecision({ scope: 'username', value: 'baduser', duration: '2h', reason: 'e2e/user' });

    driver = startDriver(ns.name, { url: lapi.url, apiKey: key, intervalMs: 500, userAgent: 'gatehouse-e2e/0.1',
      backoffInitialMs: 200, backoffMaxMs: 1000, requestTimeoutMs: 5000 });

    // 1. Startup: bans of scope Ip/Range only, with their remaining durations.
    const first = await driver.waitFor('first full sync', isFull);
    const got = new Map(first.update.decisions.map((d) => [d.value, d]));
    assert.deepEqual([...got.keys()].sort(), ['192.0.2.10', '198.51.100.0/24', '2001:db8::10']);
    const near = (v: string, sec: number) => {
      const d = got.get(v)!.durationSec!;
      assert.ok(d <= sec && d > sec - 60, `${v}: ${d}s, expected about ${sec}s`);
    };
    near('192.0.2.10', 4 * 3600);
    near('198.51.100.0/24', 30 * 60);
    near('2001:db8::10', 3600);
    assert.equal(got.get('192.0.2.10')!.origin, 'crowdsec');
    assert.equal(got.get('192.0.2.10')!.scenario, 'e2e/ip');
    assert.equal(got.get('192.0.2.10')!.reason, 'crowdsec: e2e/ip (cscli)');

    // 2. An addition arrives as a delta.
    let mark = driver.events.length;
    await lapi.addDecision({ ip: '192.0.2.40', duration: '2h', reason: 'e2e/new' });
    const added = await driver.waitFor('delta with 192.0.2.40', isDelta((u) => u.added.some((d) => d.value === '192.0.2.40')), mark);
    assert.ok(added.update.added.find((d) => d.value === '192.0.2.40')!.durationSec! > 7100);

    // 3. A deletion arrives once.
    mark = driver.events.length;
    assert.equal(await lapi.deleteDecisions({ ip: '192.0.2.40' }), 1);
    await driver.waitFor('delta deleting 192.0.2.40', isDelta((u) => u.deleted.includes('192.0.2.40')), mark);
    await new Promise((r) => setTimeout(r, 3000)); // past the LAPI's 2 s repeat window
    const deletions = driver.events.slice(mark).filter(isDelta((u) => u.deleted.includes('192.0.2.40')));
    assert.equal(deletions.length, 1, 'the LAPI repeats deletions for 2 s; the client reports them once');

    // 4. LAPI down: errors, state kept.
    mark = driver.events.length;
    await lapi.stop();
    const err = await driver.waitFor('an error while the LAPI is down', isError, mark);
    assert.equal(err.held, 3, 'the three decisions are still held');
    await driver.waitFor('a second error (retrying)', (e): e is DriverEvent => isError(e) && e !== err, mark);

    // 5. Back up: a full resync, and deltas again afterwards.
    mark = driver.events.length;
    await lapi.start();
    const resync = await driver.waitFor('full resync after restart', isFull, mark);
    assert.deepEqual(resync.update.decisions.map((d) => d.value).sort(), ['192.0.2.10', '198.51.100.0/24', '2001:db8::10']);
    mark = driver.events.length;
    await lapi.deleteDecisions({ range: '198.51.100.0/24' });
    await driver.waitFor('delta deleting the range', isDelta((u) => u.deleted.includes('198.51.100.0/24')), mark);
  } finally {
    driver?.stop();
    await lapi?.destroy().catch(() => {});
    await ns.remove();
  }
});
