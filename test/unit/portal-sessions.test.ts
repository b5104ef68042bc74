/**
 * The session manager's policy over a real SQLite store, with the time injected and a recording stand-in for
 * the kernel (the real one is in test/e2e/portal-*.test.ts): quotas per user across devices and MAC changes,
 * voucher uses, session time and idle, rate limits, throttling, and a restart re-asserting the kernel.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/daemon/index.js';
import { createEventBus } from '../../src/events/index.js';
import { migrate } from '../../src/store/migrations.js';
import { portalMigrations } from '../../src/portal/schema.js';
import { SessionManager, type FairUseHook } from '../../src/portal/manager.js';
import { SessionRepo, UsageRepo } from '../../src/portal/session-repo.js';
import { UserRepo } from '../../src/portal/users.js';
import { VoucherRepo } from '../../src/portal/vouchers.js';
import type { AddressUsage, Grant, PortalDevice, PortalKernel } from '../../src/portal/types.js';
import '../../src/portal/events.js';
import { configFiles } from './helpers/config-files.js';

const { write } = configFiles('portal-sessions-');
const dir = mkdtempSync(join(tmpdir(), 'portal-sessions-db-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const GB = 1e9;
const MIN = 60_000;

/** What the kernel was told, and counters a test sets as traffic "flows". */
class RecordingKernel implements PortalKernel {
  readonly granted = new Map<string, Grant>();
  readonly calls: Grant[] = [];
  readonly counters = new Map<string, { down: number; up: number }>();
  spentNow: { sessionId: string; direction: 'down' | 'up' }[] = [];
  reasserted: readonly Grant[] | undefined;
  async reassert(grants: readonly Grant[]) {
    this.reasserted = grants;
    this.granted.clear();
    for (const g of grants) this.granted.set(g.sessionId, g);
  }
  async grant(g: Grant) {
    this.calls.push(g);
    this.granted.set(g.sessionId, g);
    for (const ip of [...g.device.ipv4, ...g.device.ipv6]) if (!this.counters.has(ip)) this.counters.set(ip, { down: 0, up: 0 });
  }
  async revoke(g: Grant) {
    this.granted.delete(g.sessionId);
    for (const ip of [...g.device.ipv4, ...g.device.ipv6]) this.counters.delete(ip);
  }
  async usage(): Promise<AddressUsage[]> {
    return [...this.counters].map(([ip, c]) => ({ ip, ...c }));
  }
  async spent() {
    return this.spentNow;
  }
  traffic(ip: string, down: number, up = 0) {
    const c = this.counters.get(ip);
    if (!c) throw new Error(`${ip} is not granted`);
    c.down += down;
    c.up += up;
  }
}

const dev = (mac: string, ip: string): PortalDevice => ({ mac, ipv4: [ip], ipv6: [] });
const LAPTOP = dev('02:00:00:00:00:0a', '10.77.0.10');
const PHONE = dev('02:00:00:00:00:0b', '10.77.0.11');
/** The laptop again with a randomised MAC (and a new lease). */
const LAPTOP_NEW_MAC = dev('02:00:00:00:00:0c', '10.77.0.12');

let dbNo = 0;
function setup(limitsYaml: string, opts: { fairUse?: FairUseHook; db?: Database.Database; auth?: string } = {}) {
  const cfg = loadConfig(
    write(`interfaces: { lan: [lan0], wan: [wan0] }\nportal:\n  auth: ${opts.auth ?? '[accounts, vouchers, click_through]'}\n  login_rate: { failures: 3, window: 1m, lockout: 2m }\n  limits:\n${limitsYaml.replace(/^/gm, '    ')}\n`),
  ).portal!;
  const db = opts.db ?? new Database(join(dir, `s${++dbNo}.db`));
  migrate(db, [portalMigrations]);
  let now = new Date(2026, 11, 1, 9, 0).getTime();
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const kernel = new RecordingKernel();
  const devices = new Map([LAPTOP, PHONE, LAPTOP_NEW_MAC].map((d) => [d.ipv4[0]!, d]));
  const neighbours: PortalDevice[] = [LAPTOP, PHONE];
  const bus = createEventBus();
  const events: { name: string; payload: Record<string, unknown> }[] = [];
  for (const name of ['portal.login', 'portal.logout', 'portal.limit_reached', 'portal.throttled', 'portal.login_failed'] as const) {
    bus.subscribe(name, (p) => void events.push({ name, payload: p as unknown as Record<string, unknown> }));
  }
  const users = new UserRepo(db, clock.now);
  const vouchers = new VoucherRepo(db, clock.now);
  const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
  const make = () =>
    new SessionManager({
      config: cfg,
      kernel,
      devices: { device: async (ip) => devices.get(ip) ?? neighbours.find((d) => d.ipv6.includes(ip)), devices: async () => neighbours },
      users,
      vouchers,
      sessions: new SessionRepo(db),
      usage: new UsageRepo(db),
      bus,
      log: quiet,
      clock: clock.now,
      ...(opts.fairUse ? { fairUse: opts.fairUse } : {}),
      transaction: (fn) => db.transaction(fn)(),
    });
  return { m: make(), make, kernel, clock, users, vouchers, events, db, neighbours };
}

describe('portal sessions', () => {
  it("a user's daily quota holds across two devices and a MAC change", async () => {
    const t = setup('download: 5GB\ndaily: { download: 8GB }');
    await t.users.add('alice', 'alice-password');
    const a = await t.m.login({ method: 'accounts', username: 'alice', password: 'alice-password' }, '10.77.0.10');
    assert.ok(a.ok);
    assert.equal(t.kernel.granted.get(a.session.id)?.downloadLeft, 5 * GB, 'the session limit is the tighter one at first');
    t.kernel.traffic('10.77.0.10', 5 * GB);
    t.clock.advance(2000);
    await t.m.tick();
    assert.equal(t.m.list().length, 0, 'the laptop used its session download');
    assert.equal(t.events.find((e) => e.name === 'portal.limit_reached')?.payload['limit'], 'session_download');

    const b = await t.m.login({ method: 'accounts', username: 'alice', password: 'alice-password' }, '10.77.0.11');
    assert.ok(b.ok);
    assert.equal(t.kernel.granted.get(b.session.id)?.downloadLeft, 3 * GB, "the phone gets what is left of alice's day, not a fresh 5GB");
    assert.equal(b.session.downloadLeft, 3 * GB);
    t.kernel.traffic('10.77.0.11', 3 * GB);
    t.clock.advance(2000);
    await t.m.tick();
    assert.equal(t.m.list().length, 0);

    const c = await t.m.login({ method: 'accounts', username: 'alice', password: 'alice-password' }, '10.77.0.12');
    assert.deepEqual(c, { ok: false, reason: 'limit_reached', limit: 'daily' }, 'a new MAC does not reset the quota');
    t.clock.advance(24 * 3_600_000);
    assert.ok((await t.m.login({ method: 'accounts', username: 'alice', password: 'alice-password' }, '10.77.0.12')).ok, 'a new day, a new quota');
  });

  it('a spent daily quota seen by the loop ends the other device at once, and max_devices counts devices', async () => {
    const t = setup('daily: { download: 4GB }\nmax_devices: 2');
    await t.users.add('bob', 'bob-password');
    const login = (ip: string) => t.m.login({ method: 'accounts', username: 'bob', password: 'bob-password' }, ip);
    assert.ok((await login('10.77.0.10')).ok);
    assert.ok((await login('10.77.0.11')).ok);
    assert.deepEqual(await login('10.77.0.12'), { ok: false, reason: 'too_many_devices', limit: 'max_devices' });
    assert.ok((await login('10.77.0.11')).ok, 'the same device logging in again replaces its session');
    assert.equal(t.m.list().length, 2);
    t.kernel.traffic('10.77.0.10', 3 * GB);
    t.kernel.traffic('10.77.0.11', 1 * GB);
    await t.m.tick();
    assert.deepEqual(t.m.list(), [], 'both sessions end: together they spent the day');
    assert.equal(t.kernel.granted.size, 0, 'and the kernel no longer lets them through');
  });

  it("the kernel's spent daily quota on one device ends the user's others; a few bytes left do not let a login in", async () => {
    const t = setup('daily: { download: 3MB }');
    await t.users.add('ivy', 'ivy-password');
    const login = (ip: string) => t.m.login({ method: 'accounts', username: 'ivy', password: 'ivy-password' }, ip);
    const a = await login('10.77.0.10');
    t.kernel.traffic('10.77.0.10', 2e6);
    await t.m.tick();
    const b = await login('10.77.0.11');
    assert.ok(a.ok && b.ok);
    assert.equal(t.kernel.granted.get(b.session.id)?.downloadLeft, 1e6);
    // The quota dropped the packet that would have crossed it: the counters stop 20 kB short.
    t.kernel.traffic('10.77.0.11', 1e6 - 20_000);
    t.kernel.spentNow = [{ sessionId: b.session.id, direction: 'down' }];
    await t.m.tick();
    assert.deepEqual(t.m.list(), [], 'both devices are out');
    assert.deepEqual(
      t.events.filter((e) => e.name === 'portal.logout').map((e) => e.payload['reason']),
      ['daily', 'daily'],
    );
    t.kernel.spentNow = [];
    assert.deepEqual(await login('10.77.0.12'), { ok: false, reason: 'limit_reached', limit: 'daily' });
  });

  it("a device's IPv6 address that shows up after the login joins its session (same quota, the others' counters untouched)", async () => {
    const t = setup('download: 1GB');
    await t.users.add('jack', 'jack-password');
    const s = await t.m.login({ method: 'accounts', username: 'jack', password: 'jack-password' }, '10.77.0.10');
    assert.ok(s.ok);
    assert.equal(await t.m.sessionFor('fd77::10'), undefined);
    t.neighbours[0] = { ...LAPTOP, ipv6: ['fd77::10'] };
    t.clock.advance(6000);
    await t.m.tick();
    assert.equal((await t.m.sessionFor('fd77::10'))?.id, s.session.id);
    const last = t.kernel.calls.at(-1)!;
    assert.deepEqual([last.sessionId, last.device.ipv4, last.device.ipv6, last.downloadLeft], [s.session.id, [], ['fd77::10'], 1e9]);
  });

  it('a voucher with 1 use cannot be used twice; the same device may log in on it again', async () => {
    const t = setup('session_time: 8h');
    const [code] = t.vouchers.create({ count: 1, timeMs: 2 * 3_600_000, download: 1 * GB, uses: 1 });
    const first = await t.m.login({ method: 'vouchers', code: code! }, '10.77.0.10');
    assert.ok(first.ok);
    assert.equal(first.session.user, `voucher:${code!.slice(0, 4)}`);
    assert.equal(first.session.endsAt - first.session.startedAt, 2 * 3_600_000, "the voucher's time, not the default 8h");
    assert.equal(t.kernel.granted.get(first.session.id)?.downloadLeft, 1 * GB);
    assert.deepEqual(await t.m.login({ method: 'vouchers', code: code! }, '10.77.0.11'), { ok: false, reason: 'too_many_devices', limit: 'max_devices' });
    await t.m.logout('10.77.0.10');
    t.clock.advance(30 * MIN);
    const back = await t.m.login({ method: 'vouchers', code: code! }, '10.77.0.10');
    assert.ok(back.ok);
    assert.equal(back.session.endsAt, first.session.startedAt + 2 * 3_600_000, "its time counts from the voucher's first use");
    assert.equal(t.vouchers.list()[0]!.used, 1);
  });

  it('session time and idle timeout end sessions; the kernel grant carries the end time', async () => {
    const t = setup('session_time: 1h\nidle: 10m');
    await t.users.add('carol', 'carol-password');
    const s = await t.m.login({ method: 'accounts', username: 'carol', password: 'carol-password' }, '10.77.0.10');
    assert.ok(s.ok);
    assert.equal(t.kernel.granted.get(s.session.id)?.untilMs, s.session.startedAt + 3_600_000);
    for (let i = 0; i < 5; i++) {
      t.clock.advance(8 * MIN);
      t.kernel.traffic('10.77.0.10', 1000);
      await t.m.tick();
    }
    assert.equal(t.m.list().length, 1, '40 minutes with traffic every 8: still on');
    t.clock.advance(10 * MIN);
    await t.m.tick();
    assert.deepEqual(t.m.list(), []);
    assert.deepEqual(t.events.filter((e) => e.name === 'portal.logout').map((e) => e.payload['reason']), ['idle']);

    const again = await t.m.login({ method: 'accounts', username: 'carol', password: 'carol-password' }, '10.77.0.10');
    assert.ok(again.ok);
    for (let i = 0; i < 8; i++) {
      t.clock.advance(8 * MIN);
      t.kernel.traffic('10.77.0.10', 1000);
      await t.m.tick();
    }
    assert.deepEqual(t.m.list(), []);
    assert.deepEqual(t.events.filter((e) => e.name === 'portal.logout').map((e) => e.payload['reason']), ['idle', 'session_time']);
  });

  it('wrong passwords: the client and the user are locked out for a while, and each failure is reported', async () => {
    const t = setup('session_time: 1h');
    await t.users.add('dave', 'dave-password');
    const tryAs = (pw: string, ip = '10.77.0.10', username = 'dave') => t.m.login({ method: 'accounts', username, password: pw }, ip);
    assert.deepEqual(await tryAs('guess1'), { ok: false, reason: 'bad_credentials' });
    assert.deepEqual(await tryAs('guess2'), { ok: false, reason: 'bad_credentials' });
    assert.deepEqual(await tryAs('guess3'), { ok: false, reason: 'rate_limited', retryAfterSec: 120 });
    assert.deepEqual(await tryAs('dave-password'), { ok: false, reason: 'rate_limited', retryAfterSec: 120 }, 'even the right password waits');
    assert.deepEqual(await tryAs('dave-password', '10.77.0.11'), { ok: false, reason: 'rate_limited', retryAfterSec: 120 }, 'the user is locked from other devices too');
    const failed = t.events.filter((e) => e.name === 'portal.login_failed');
    assert.equal(failed.length, 5);
    assert.equal(failed[0]!.payload['user'], 'dave');
    assert.equal(failed[0]!.payload['mac'], LAPTOP.mac);
    t.clock.advance(2 * MIN);
    assert.ok((await tryAs('dave-password')).ok);
  });

  it('a spent daily quota with action throttle puts the devices in the fair-use class instead of ending them', async () => {
    const calls: [readonly string[], boolean][] = [];
    const owners: [readonly string[], string | undefined][] = [];
    const t = setup('daily: { download: 2GB }\nactions: { daily: throttle }', {
      fairUse: { setFairUse: async (ips, on) => void calls.push([ips, on]), setOwner: async (ips, o) => void owners.push([ips, o]) },
    });
    await t.users.add('erin', 'erin-password');
    const s = await t.m.login({ method: 'accounts', username: 'erin', password: 'erin-password' }, '10.77.0.10');
    assert.ok(s.ok);
    assert.equal(t.kernel.granted.get(s.session.id)?.downloadLeft, undefined, 'no kernel quota: the flow must slow down, not stop');
    t.kernel.traffic('10.77.0.10', 2 * GB);
    await t.m.tick();
    assert.equal(t.m.list()[0]?.state, 'throttled');
    assert.deepEqual(calls, [[['10.77.0.10'], true]]);
    assert.ok(t.events.some((e) => e.name === 'portal.throttled' && e.payload['limit'] === 'daily'));
    t.clock.advance(24 * 3_600_000);
    await t.m.tick();
    assert.equal(t.m.list()[0]?.state, 'active', 'a new day: full speed again');
    assert.deepEqual(calls.at(-1), [['10.77.0.10'], false]);
    await t.m.logout('10.77.0.10');
    assert.deepEqual(owners, [[['10.77.0.10'], 'erin'], [['10.77.0.10'], undefined]], "the shaper groups erin's devices while she is logged in");
  });

  it('a restart re-asserts live sessions from the store and ends the expired ones; bytes are not counted twice', async () => {
    const t = setup('session_time: 1h\ndaily: { download: 10GB }');
    await t.users.add('frank', 'frank-password');
    await t.users.add('gina', 'gina-password');
    const f = await t.m.login({ method: 'accounts', username: 'frank', password: 'frank-password' }, '10.77.0.10');
    t.clock.advance(30 * MIN);
    const g = await t.m.login({ method: 'accounts', username: 'gina', password: 'gina-password' }, '10.77.0.11');
    assert.ok(f.ok && g.ok);
    t.kernel.traffic('10.77.0.11', 1 * GB);
    await t.m.tick();
    // The daemon dies; the kernel keeps its grants and counters. 40 minutes later it starts again.
    t.clock.advance(40 * MIN);
    const restarted = t.make();
    await restarted.start();
    assert.deepEqual(t.kernel.reasserted?.map((x) => x.sessionId), [g.session.id], "frank's hour is over, gina's is not");
    assert.deepEqual(restarted.list().map((s) => s.user), ['gina']);
    t.kernel.traffic('10.77.0.11', 1 * GB);
    await restarted.tick();
    assert.equal(restarted.list()[0]!.bytesDown, 2 * GB, 'the first gigabyte is counted once');
    assert.equal(restarted.list()[0]!.downloadLeft, 8 * GB);
  });

  it('click-through guests are each their own identity; a method that is off is refused', async () => {
    const t = setup('session_time: 1h', { auth: '[click_through]' });
    const a = await t.m.login({ method: 'click_through' }, '10.77.0.10');
    const b = await t.m.login({ method: 'click_through' }, '10.77.0.11');
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.session.user, b.session.user);
    assert.deepEqual((await t.m.sessionsOf(a.session.user)).map((s) => s.id), [a.session.id], 'one guest never sees another');
    assert.deepEqual(await t.m.login({ method: 'vouchers', code: 'AAAA-BBBB-CCCC' }, '10.77.0.12'), { ok: false, reason: 'method_off' });
    assert.deepEqual(await t.m.login({ method: 'click_through' }, '10.77.0.99'), { ok: false, reason: 'unknown_client' });
  });

  it('an admin ends sessions by user or client; sessionFor finds a device by any of its addresses', async () => {
    const t = setup('session_time: 1h');
    await t.users.add('hank', 'hank-password');
    const s = await t.m.login({ method: 'accounts', username: 'hank', password: 'hank-password' }, '10.77.0.10');
    assert.ok(s.ok);
    assert.equal((await t.m.sessionFor('10.77.0.10'))?.id, s.session.id);
    assert.equal(await t.m.sessionFor('10.77.0.11'), undefined);
    const ended = await t.m.end({ client: LAPTOP.mac.toUpperCase() });
    assert.deepEqual(ended.map((x) => [x.id, x.state, x.endReason]), [[s.session.id, 'ended', 'admin']]);
    assert.equal(t.kernel.granted.size, 0);
  });
});
