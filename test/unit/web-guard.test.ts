import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTarget } from '../../src/net/ip.js';
import type { NetworkContext } from '../../src/net/target-guard.js';
import { wanRefusal } from '../../src/web/guard.js';
import { LoginLimiter } from '../../src/web/rate-limit.js';
import { parseCookies, sessionCookie } from '../../src/web/cookies.js';

const net: NetworkContext = {
  lan: [{ target: parseTarget('10.77.0.0/24'), ifname: 'br-lan' }],
  own: [
    { target: parseTarget('10.77.0.1'), ifname: 'br-lan' },
    { target: parseTarget('203.0.113.2'), ifname: 'wan0' },
    { target: parseTarget('2001:db8::2'), ifname: 'wan0' },
  ],
};

describe('dashboard: refusing the WAN without TLS', () => {
  it('refuses a WAN address and every-address listens without TLS, naming the interface', () => {
    assert.match(wanRefusal('203.0.113.2:8443', false, net, ['wan0']) ?? '', /WAN interface wan0.*web\.tls/);
    assert.match(wanRefusal('[2001:db8::2]:8443', false, net, ['wan0']) ?? '', /wan0/);
    assert.match(wanRefusal('0.0.0.0:8443', false, net, ['wan0']) ?? '', /includes the WAN/);
    assert.match(wanRefusal('[::]:8443', false, net, ['wan0']) ?? '', /includes the WAN/);
  });
  it('allows LAN and loopback addresses, and anything with TLS', () => {
    assert.equal(wanRefusal('10.77.0.1:8080', false, net, ['wan0']), undefined);
    assert.equal(wanRefusal('127.0.0.1:8080', false, net, ['wan0']), undefined);
    assert.equal(wanRefusal('203.0.113.2:8443', true, net, ['wan0']), undefined);
    assert.equal(wanRefusal('0.0.0.0:8443', true, net, ['wan0']), undefined);
    assert.equal(wanRefusal('0.0.0.0:8443', false, net, []), undefined, 'no WAN on this machine');
  });
});

describe('dashboard: login rate limit', () => {
  it('refuses an address after 5 failures until the window has passed; other addresses and a success are unaffected', () => {
    let now = 0;
    const l = new LoginLimiter(5, 300_000, () => now);
    for (let i = 0; i < 4; i++) l.failed('10.0.0.9');
    assert.equal(l.retryAfter('10.0.0.9'), 0, 'four failures: still allowed');
    l.failed('10.0.0.9');
    assert.equal(l.retryAfter('10.0.0.9'), 300);
    assert.equal(l.retryAfter('10.0.0.8'), 0, 'another address');
    now = 299_000;
    assert.equal(l.retryAfter('10.0.0.9'), 1);
    now = 300_000;
    assert.equal(l.retryAfter('10.0.0.9'), 0, 'window over');
    l.failed('10.0.0.7');
    l.succeeded('10.0.0.7');
    for (let i = 0; i < 4; i++) l.failed('10.0.0.7');
    assert.equal(l.retryAfter('10.0.0.7'), 0, 'a success clears the count');
  });
});

describe('dashboard: cookies', () => {
  it('sets HttpOnly and SameSite=Strict always and Secure with TLS; parses the first of duplicates', () => {
    assert.equal(sessionCookie('abc', { secure: false, maxAgeSec: 60 }), 'gatehouse_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60');
    assert.match(sessionCookie('abc', { secure: true, maxAgeSec: 60 }), /; Secure$/);
    assert.equal(parseCookies('a=1; gatehouse_session=x; gatehouse_session=y').get('gatehouse_session'), 'x');
    assert.equal(parseCookies(undefined).size, 0);
    assert.equal(parseCookies('bad=%E0%A4%A').has('bad'), false, 'undecodable is ignored');
  });
});
