import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GRACE_SEC, ResolvedNames } from '../../src/dns/index.js';

const T0 = 1_800_000_000_000;

describe('ResolvedNames', () => {
  it('names the domain a client looked up for an address it then connected to, per client', () => {
    const rn = new ResolvedNames();
    rn.note('192.168.1.10', 'login-paypal.example', ['203.0.113.66', '203.0.113.67'], 60, T0);
    rn.note('192.168.1.11', 'cdn.example', ['203.0.113.66'], 60, T0);
    assert.equal(rn.lookup('192.168.1.10', '203.0.113.67', T0 + 1000), 'login-paypal.example');
    assert.equal(rn.lookup('192.168.1.11', '203.0.113.66', T0 + 1000), 'cdn.example', 'each client has its own names');
    assert.equal(rn.lookup('192.168.1.12', '203.0.113.66', T0 + 1000), undefined, 'a client that did not look it up');
    assert.deepEqual(
      rn.lookupMany(
        [
          { client: '192.168.1.10', remote: '203.0.113.66' },
          { client: '192.168.1.10', remote: '198.51.100.1' },
          { client: '192.168.1.11', remote: '203.0.113.66' },
        ],
        T0,
      ),
      ['login-paypal.example', undefined, 'cdn.example'],
    );
  });

  it('meets the firewall whatever spelling the socket, the answer and nft use', () => {
    const rn = new ResolvedNames();
    rn.note('::ffff:192.168.1.10', 'v6.example', ['2001:0db8:0000:0000:0000:0000:0000:0042', '::ffff:203.0.113.9'], 60, T0);
    rn.note('FD00::0010', 'lan6.example', ['2001:DB8::43'], 60, T0);
    assert.equal(rn.lookup('192.168.1.10', '2001:db8::42', T0), 'v6.example');
    assert.equal(rn.lookup('192.168.1.10', '203.0.113.9', T0), 'v6.example');
    assert.equal(rn.lookup('fd00::10', '2001:db8::43', T0), 'lan6.example');
  });

  it('forgets a pair at the answer TTL plus the grace period, and the newest name for an address wins', () => {
    const rn = new ResolvedNames({ graceSec: 600 });
    rn.note('192.168.1.10', 'a.example', ['203.0.113.1'], 300, T0);
    assert.equal(rn.lookup('192.168.1.10', '203.0.113.1', T0 + 899_000), 'a.example');
    assert.equal(rn.lookup('192.168.1.10', '203.0.113.1', T0 + 900_000), undefined);
    rn.note('192.168.1.10', 'a.example', ['203.0.113.1'], 300, T0);
    rn.note('192.168.1.10', 'b.example', ['203.0.113.1'], 30, T0 + 5000);
    assert.equal(rn.lookup('192.168.1.10', '203.0.113.1', T0 + 6000), 'b.example');
    assert.equal(GRACE_SEC, 600);
  });

  it('stays within its bound, dropping the pairs noted (or asked for) longest ago', () => {
    const rn = new ResolvedNames({ maxEntries: 4 });
    rn.note('10.0.0.1', 'one.example', ['203.0.113.1'], 60, T0);
    rn.note('10.0.0.1', 'two.example', ['203.0.113.2'], 60, T0);
    rn.note('10.0.0.1', 'three.example', ['203.0.113.3'], 60, T0);
    rn.note('10.0.0.1', 'one.example', ['203.0.113.1'], 60, T0 + 1);
    rn.note('10.0.0.1', 'four.example', ['203.0.113.4'], 60, T0 + 2);
    assert.ok(rn.size <= 4);
    assert.equal(rn.lookup('10.0.0.1', '203.0.113.2', T0), undefined, 'the pair noted longest ago went');
    assert.equal(rn.lookup('10.0.0.1', '203.0.113.1', T0), 'one.example', 'noted again, so kept');
    assert.equal(rn.lookup('10.0.0.1', '203.0.113.3', T0), 'three.example');
    // Asked for by the firewall: kept through the next turnover.
    rn.note('10.0.0.1', 'five.example', ['203.0.113.5'], 60, T0);
    rn.note('10.0.0.1', 'six.example', ['203.0.113.6'], 60, T0);
    assert.equal(rn.lookup('10.0.0.1', '203.0.113.3', T0), 'three.example');
    for (let i = 0; i < 1000; i++) rn.note('10.0.0.2', `n${i}.example`, [`198.51.100.${i % 250}`, `2001:db8::${i}`], 60, T0);
    assert.ok(rn.size <= 4, `size ${rn.size}`);
    assert.equal(rn.lookup('10.0.0.2', '2001:db8::999', T0), 'n999.example');
  });

  it('its generation stays while every pair noted since is still held, and changes when pairs may have gone', () => {
    const rn = new ResolvedNames({ maxEntries: 4 });
    const g0 = rn.generation;
    rn.note('10.0.0.1', 'a.example', ['192.0.2.1', '192.0.2.2'], 60, T0);
    rn.note('10.0.0.1', 'a.example', ['192.0.2.1'], 60, T0);
    assert.equal(rn.generation, g0, 'noting pairs already held changes nothing');
    rn.note('10.0.0.1', 'b.example', ['192.0.2.3'], 60, T0);
    assert.notEqual(rn.generation, g0, 'the young generation filled up: older pairs are on their way out');
    const g1 = rn.generation;
    rn.prune(T0);
    assert.notEqual(rn.generation, g1, 'a prune may drop pairs');
  });

  it('prunes expired pairs and ignores what is not an address', () => {
    const rn = new ResolvedNames({ graceSec: 0 });
    rn.note('10.0.0.1', 'short.example', ['203.0.113.1'], 10, T0);
    rn.note('10.0.0.1', 'long.example', ['203.0.113.2'], 100, T0);
    rn.note('not-an-ip', 'x.example', ['203.0.113.3'], 100, T0);
    rn.note('10.0.0.1', 'x.example', ['', 'garbage', '1.2.3.4.5'], 100, T0);
    rn.note('10.0.0.1', '', ['203.0.113.9'], 100, T0);
    assert.equal(rn.size, 2);
    assert.equal(rn.prune(T0 + 50_000), 1);
    assert.equal(rn.lookup('10.0.0.1', '203.0.113.2', T0 + 50_000), 'long.example');
    assert.equal(rn.lookup('garbage', '203.0.113.2', T0), undefined);
  });
});
