/**
 * The handle's rules with plain numbers: which limits apply (defaults, user and voucher overrides), what the
 * kernel is told, which limit a session reached and what happens then, and who may log in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/daemon/index.js';
import { bytesLeft, counterDelta, dayKey, grantPlan, loginVerdict, NO_USAGE, reachedLimits, resolveLimits, sessionEnd, weekStartKey } from '../../src/portal/limits.js';
import { configFiles } from './helpers/config-files.js';

const { write } = configFiles('portal-limits-');
const H = 3_600_000;
const GB = 1e9;

function limitsOf(yaml: string) {
  return loadConfig(write(`interfaces: { lan: [lan0], wan: [wan0] }\nportal:\n  limits:\n${yaml.replace(/^/gm, '    ')}\n`)).portal!;
}

const base = limitsOf('session_time: 8h\nidle: 30m\ndownload: 5GB\nupload: 1GB\ndaily: { download: 10GB }\nweekly: { download: 40GB }\nmax_devices: 2');
const fresh = (at = 0) => ({ startedAt: at, lastActivity: at, bytesDown: 0, bytesUp: 0 });

describe('portal limits', () => {
  it('a user override replaces what it names, a voucher replaces time and traffic', () => {
    const l = resolveLimits(base.limits, false, { download: 20 * GB, max_devices: 5 });
    assert.equal(l.download, 20 * GB);
    assert.equal(l.maxDevices, 5);
    assert.equal(l.upload, 1 * GB, 'not named by the override: the default stays');
    const v = resolveLimits(base.limits, false, undefined, { timeMs: 2 * H, download: 3 * GB });
    assert.equal(v.sessionTimeMs, 2 * H);
    assert.equal(v.download, 3 * GB);
    assert.equal(v.idleMs, 30 * 60_000);
  });

  it('the kernel gets the tightest relogin quota per direction and the session end', () => {
    const l = resolveLimits(base.limits, false);
    const plan = grantPlan(l, fresh(1000), { ...NO_USAGE, dayDown: 7 * GB, weekDown: 7 * GB }, sessionEnd(l, 1000));
    assert.equal(plan.untilMs, 1000 + 8 * H);
    assert.deepEqual(plan.down, { kind: 'daily', left: 3 * GB }, '10GB daily with 7GB used today is tighter than 5GB per session');
    assert.deepEqual(plan.up, { kind: 'session_upload', left: 1 * GB });
    const early = grantPlan(l, fresh(), NO_USAGE, sessionEnd(l, 0));
    assert.deepEqual(early.down, { kind: 'session_download', left: 5 * GB });
  });

  it('a throttle limit stays out of the kernel (it must slow the flow, not stop it) — unless no shaper runs', () => {
    const c = limitsOf('download: 5GB\ndaily: { download: 10GB }\nactions: { daily: throttle }');
    const withShaper = resolveLimits(c.limits, true);
    const used = { ...NO_USAGE, dayDown: 8 * GB, weekDown: 8 * GB };
    assert.deepEqual(grantPlan(withShaper, fresh(), used, sessionEnd(withShaper, 0)).down, { kind: 'session_download', left: 5 * GB });
    const noShaper = resolveLimits(c.limits, false);
    assert.equal(noShaper.actions.daily, 'relogin');
    assert.deepEqual(grantPlan(noShaper, fresh(), used, sessionEnd(noShaper, 0)).down, { kind: 'daily', left: 2 * GB });
  });

  it('session time and idle end a session; a spent daily quota of the user ends it even with session bytes left', () => {
    const l = resolveLimits(base.limits, false);
    const end = sessionEnd(l, 0);
    assert.deepEqual(reachedLimits(l, { ...fresh(), lastActivity: 8 * H - 1 }, NO_USAGE, end, 8 * H - 1), []);
    assert.deepEqual(reachedLimits(l, { ...fresh(), lastActivity: 8 * H - 1 }, NO_USAGE, end, 8 * H), [{ kind: 'session_time', action: 'relogin' }]);
    assert.deepEqual(reachedLimits(l, { ...fresh(), lastActivity: H }, NO_USAGE, end, H + 30 * 60_000 - 1), []);
    assert.deepEqual(reachedLimits(l, { ...fresh(), lastActivity: H }, NO_USAGE, end, H + 30 * 60_000), [{ kind: 'idle', action: 'relogin' }]);
    // The other device used the day's quota: this session (1GB of its own) ends too.
    const s = { ...fresh(), lastActivity: H, bytesDown: 1 * GB };
    assert.deepEqual(reachedLimits(l, s, { ...NO_USAGE, dayDown: 10 * GB, weekDown: 10 * GB }, end, H), [{ kind: 'daily', action: 'relogin' }]);
  });

  it('a throttle limit comes after an ending one', () => {
    const c = limitsOf('idle: 10m\ndaily: { download: 1GB }\nactions: { daily: throttle }');
    const l = resolveLimits(c.limits, true);
    const r = reachedLimits(l, { ...fresh(), lastActivity: 0 }, { ...NO_USAGE, dayDown: 2 * GB }, sessionEnd(l, 0), 11 * 60_000);
    assert.deepEqual(r, [
      { kind: 'idle', action: 'relogin' },
      { kind: 'daily', action: 'throttle' },
    ]);
  });

  it('login: refused with a spent relogin quota or too many devices; let in throttled with a throttle quota', () => {
    const l = resolveLimits(base.limits, false);
    assert.deepEqual(loginVerdict(l, NO_USAGE, 1), { ok: true });
    assert.deepEqual(loginVerdict(l, NO_USAGE, 2), { ok: false, limit: 'max_devices', reason: 'too_many_devices' });
    assert.deepEqual(loginVerdict(l, { ...NO_USAGE, dayDown: 10 * GB }, 0), { ok: false, limit: 'daily', reason: 'limit_reached' });
    assert.deepEqual(loginVerdict(l, { ...NO_USAGE, dayDown: 9 * GB, weekDown: 40 * GB }, 0), { ok: false, limit: 'weekly', reason: 'limit_reached' });
    const t = resolveLimits(limitsOf('daily: { download: 1GB }\nactions: { daily: throttle }').limits, true);
    assert.deepEqual(loginVerdict(t, { ...NO_USAGE, dayDown: 1 * GB }, 0), { ok: true, throttled: 'daily' });
    assert.deepEqual(loginVerdict(l, NO_USAGE, 0, { timeMs: H, validUntil: 5000 }, 5000), { ok: false, limit: 'session_time', reason: 'limit_reached' });
  });

  it('a voucher used earlier ends its sessions at first use + its time', () => {
    const v = { timeMs: 2 * H, validUntil: 2 * H + 500 };
    const l = resolveLimits(base.limits, false, undefined, v);
    assert.equal(sessionEnd(l, H, v), 2 * H + 500, 'not H + 2h: the voucher started an hour before this session');
    assert.equal(sessionEnd(l, 0, v), 2 * H);
  });

  it('bytes left for display counts every limit; counters that went down were reset', () => {
    const l = resolveLimits(base.limits, false);
    assert.deepEqual(bytesLeft(l, { ...fresh(), bytesDown: 1 * GB }, { ...NO_USAGE, dayDown: 8 * GB }), { down: 2 * GB, up: 1 * GB });
    assert.equal(counterDelta(undefined, 500), 500);
    assert.equal(counterDelta(500, 800), 300);
    assert.equal(counterDelta(800, 100), 100);
  });

  it('days are local calendar days; the week is today and the six before', () => {
    const noon = new Date(2026, 11, 3, 12).getTime();
    assert.equal(dayKey(noon), '2026-12-03');
    assert.equal(weekStartKey(noon), '2026-11-27');
    assert.equal(dayKey(new Date(2026, 11, 3, 23, 59).getTime()), '2026-12-03');
    assert.equal(dayKey(new Date(2026, 11, 4, 0, 0).getTime()), '2026-12-04');
  });
});
