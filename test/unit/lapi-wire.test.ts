import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, parseGoDuration } from '../../src/crowdsec/lapi/index.js';
import { signWatcherJwt, verifyWatcherJwt } from '../../src/crowdsec/lapi/jwt.js';
import { parseAlerts } from '../../src/crowdsec/lapi/alerts.js';
import { goJsonString } from '../../src/crowdsec/lapi/wire.js';

test('durations print exactly like Go time.Duration.String (values from the captures)', () => {
  assert.equal(formatGoDuration(0), '0s');
  assert.equal(formatGoDuration(4 * 3600_000), '4h0m0s');
  assert.equal(formatGoDuration(3 * 3600_000 + 59 * 60_000 + 58_235.144858), '3h59m58.235144858s');
  assert.equal(formatGoDuration(14 * 60_000 + 58_235.147793), '14m58.235147793s');
  assert.equal(formatGoDuration(4_235.150999), '4.235150999s');
  assert.equal(formatGoDuration(-20.194166), '-20.194166ms');
  assert.equal(formatGoDuration(-3_252.963445), '-3.252963445s');
  assert.equal(formatGoDuration(1.5), '1.5ms');
  assert.equal(formatGoDuration(0.0015), '1.5µs');
  assert.equal(formatGoDuration(0.000001), '1ns');
  assert.equal(formatGoDuration(90 * 60_000), '1h30m0s');
  assert.equal(formatGoDuration(60_000), '1m0s');
});

test('Go durations parse, including fractions, compound units and days; garbage is refused', () => {
  assert.equal(parseGoDuration('3h'), 3 * 3600_000);
  assert.equal(parseGoDuration('90m'), 90 * 60_000);
  assert.equal(parseGoDuration('1h30m10.5s'), 5_410_500);
  assert.equal(parseGoDuration('-20.194166ms'), -20.194166);
  assert.equal(parseGoDuration('7d'), 7 * 86_400_000);
  assert.equal(parseGoDuration('0'), 0);
  for (const bad of ['', '4', 'h', '4x', '1h 2m', '--1s', 'ms', '1.2.3s']) assert.equal(parseGoDuration(bad), undefined, bad);
});

test('fuzz: format then parse gives the value back; random text never throws', () => {
  for (let i = 0; i < 2000; i++) {
    const ms = Math.round((Math.random() - 0.3) * 10 ** (Math.random() * 10)) / 1000;
    const back = parseGoDuration(formatGoDuration(ms));
    assert.ok(back !== undefined && Math.abs(back - ms) < 1e-6, `${ms} → ${formatGoDuration(ms)} → ${back}`);
    const junk = Array.from({ length: Math.floor(Math.random() * 12) }, () => '0123456789.hmsµun-+x '[Math.floor(Math.random() * 22)]).join('');
    parseGoDuration(junk);
  }
});

test('watcher JWT: claims like gin-jwt, forged or expired tokens are refused', () => {
  const secret = Buffer.alloc(32, 7);
  const tok = signWatcherJwt({ id: 'anchor-watcher', exp: 1795602632, orig_iat: 1795599032 }, secret);
  const [h, p] = tok.split('.');
  assert.equal(Buffer.from(h!, 'base64url').toString(), '{"alg":"HS256","typ":"JWT"}');
  assert.equal(Buffer.from(p!, 'base64url').toString(), '{"exp":1795602632,"id":"anchor-watcher","orig_iat":1795599032}');
  assert.deepEqual(verifyWatcherJwt(tok, secret, 1795600000), { ok: true, claims: { id: 'anchor-watcher', exp: 1795602632, orig_iat: 1795599032 } });
  assert.deepEqual(verifyWatcherJwt(tok, secret, 1795602632), { ok: false, why: 'Token is expired' });
  assert.deepEqual(verifyWatcherJwt(tok, Buffer.alloc(32, 8), 1795600000), { ok: false, why: 'signature is invalid' });
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
  assert.equal(verifyWatcherJwt(none, secret, 1795600000).ok, false);
  assert.equal(verifyWatcherJwt('a.b', secret, 0).ok, false);
  assert.equal(verifyWatcherJwt('!!.??.**', secret, 0).ok, false);
});

test('Go JSON string escaping matches the captured "=\\u003e"', () => {
  assert.equal(goJsonString('ban 4h => x & <y>'), '"ban 4h =\\u003e x \\u0026 \\u003cy\\u003e"');
});

test('alerts: explicit decisions keep their duration, profile decides otherwise, unsupported ones are skipped', () => {
  const profile = { durationMs: 4 * 3600_000, direction: 'inbound' as const };
  const [a, b] = parseAlerts(
    [
      {
        scenario: 'x/http-probing',
        source: { scope: 'Ip', value: '203.0.113.50' },
        decisions: [
          { origin: 'crowdsec', type: 'ban', scope: 'Ip', value: '203.0.113.50', duration: '3h', scenario: 'x/http-probing' },
          { origin: 'crowdsec', type: 'captcha', scope: 'Ip', value: '203.0.113.51', duration: '3h' },
          { origin: 'crowdsec', type: 'ban', scope: 'username', value: 'bob', duration: '3h' },
          { origin: 'crowdsec', type: 'ban', scope: 'Range', value: '203.0.113.128/25', duration: 'soon' },
        ],
      },
      { scenario: 'x/ssh-bf', remediation: true, source: { scope: 'Ip', value: '203.0.113.60' } },
    ],
    'w1',
    profile,
  );
  assert.deepEqual(a!.decisions.map((d) => [d.value, d.durationSec, d.origin, d.direction]), [['203.0.113.50', 10800, 'lapi:w1', 'inbound']]);
  assert.equal(a!.skipped.length, 3);
  assert.deepEqual(b!.decisions.map((d) => [d.value, d.durationSec, d.scenario]), [['203.0.113.60', 14400, 'x/ssh-bf']]);
  assert.throws(() => parseAlerts({}, 'w1', profile), /array/);
  assert.throws(() => parseAlerts([1], 'w1', profile), /not an object/);
});
