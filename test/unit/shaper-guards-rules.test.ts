/**
 * The shaper's detection and guard rules as the composed table renders them: the order s1's fragment relies
 * on (guards before P2P marks, both at `shaper-guards` before `shaper-classify`), TCP and UDP both capped,
 * `shaper.p2p: off` leaving no P2P rule, and bad numbers refused before anything reaches nft.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeTable } from '../../src/firewall/compose.js';
import { hex, ints, rule, setRef } from '../../src/firewall/index.js';
import { detectionParts, guardRules } from '../../src/shaper/guards/index.js';
import { mergeParts } from '../../src/shaper/fragment.js';

const compose = (parts: ReturnType<typeof detectionParts>) => composeTable('gatehouse', [{ module: 'shaper', ...mergeParts(parts) }]).script;

const forwardRules = (script: string): string[] => script.split('\n').filter((l) => l.startsWith('add rule inet gatehouse forward ')).map((l) => l.slice('add rule inet gatehouse forward '.length));

describe('shaper guard and P2P rules', () => {
  it('caps TCP with a reset and UDP with admin-prohibited, per family, before any P2P mark', () => {
    const rules = forwardRules(compose(detectionParts({ lan: ['br-lan'], p2p: 'throttle', maxConnections: 300, newConnectionsPerSecond: 50 })));
    const cap = rules.filter((r) => r.includes('ct count over 300'));
    assert.equal(cap.length, 4);
    assert.equal(cap.filter((r) => r.includes('meta l4proto tcp') && r.endsWith('reject with tcp reset')).length, 2);
    assert.equal(cap.filter((r) => r.includes('meta l4proto udp') && r.endsWith('reject with icmpx type admin-prohibited')).length, 2);
    assert.equal(rules.filter((r) => r.includes('limit rate over 50/second burst 50 packets') && r.endsWith('drop')).length, 2);
    const firstMark = rules.findIndex((r) => r.includes('jump shaper_p2p_sig'));
    const lastGuard = Math.max(...rules.map((r, i) => (r.includes('ct count') || r.includes('limit rate') ? i : -1)));
    assert.ok(lastGuard < firstMark, 'a refused connection is never marked');
    for (const r of cap) assert.ok(r.includes('iifname { "br-lan" }') && r.includes('ct state new'), r);
  });

  it('p2p off: no P2P rule, set or chain; the guards stay', () => {
    const script = compose(detectionParts({ lan: ['br-lan'], p2p: 'off', maxConnections: 10 }));
    assert.ok(!script.includes('p2p'), script);
    assert.ok(script.includes('ct count over 10'));
  });

  it('the elephant bit needs a byte count, and 0 switches it off', () => {
    assert.equal(forwardRules(compose(detectionParts({ lan: ['br-lan'], p2p: 'off', elephantBytes: 5_000_000 }))).filter((r) => r.includes('bytes > 5000000') && r.includes('ct mark set ct mark or 2')).length, 2);
    assert.equal(forwardRules(compose(detectionParts({ lan: ['br-lan'], p2p: 'off', elephantBytes: 0 }))).length, 0);
  });

  it('refuses caps that are not whole positive numbers, and interface names nft must not see', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2_000_000]) {
      assert.throws(() => guardRules({ lan: ['br-lan'], maxConnections: bad }), /shaper\.max_connections must be a whole number/);
      assert.throws(() => guardRules({ lan: ['br-lan'], newConnectionsPerSecond: bad }), /shaper\.new_connections_per_second/);
    }
    assert.throws(() => guardRules({ lan: ['br-lan"; flush ruleset'] }), /interface name/);
  });

  it('raw payload matches are not set references, while a set of another module still is refused', () => {
    const own = { module: 'shaper', chains: [{ name: 'shaper_x', rules: [rule`meta l4proto tcp @ih,0,64 ${hex(Buffer.from('13426974546f7272', 'hex'))} accept`] }] };
    assert.match(composeTable('gatehouse', [own]).script, /@ih,0,64 0x13426974546f7272 accept/);
    const foreign = { module: 'shaper', chains: [{ name: 'shaper_x', rules: [rule`ip saddr ${setRef('portal_auth4')} accept`] }] };
    assert.throws(() => composeTable('gatehouse', [foreign]), /refers to set portal_auth4, which it does not own/);
    const tricky = { module: 'shaper', chains: [{ name: 'shaper_x', rules: [rule`ip saddr @portal_auth4,0,1 accept`] }] };
    assert.throws(() => composeTable('gatehouse', [tricky]), /refers to set portal_auth4/, 'only nft\'s four payload bases are exempt');
  });

  it('hex and ints tokens take only what nft can read as constants', () => {
    assert.equal(hex(Uint8Array.from([0x41, 0])).nft, '0x4100');
    assert.throws(() => hex(new Uint8Array(17)), /1 to 16 bytes/);
    assert.throws(() => hex(new Uint8Array(0)), /1 to 16 bytes/);
    assert.equal(ints([80, 443]).nft, '{ 80, 443 }');
    assert.throws(() => ints([]), /at least one/);
    assert.throws(() => ints([1.5]), /not a non-negative integer/);
  });
});
