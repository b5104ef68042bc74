import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeTable } from '../../src/firewall/compose.js';
import { KernelFragmentError } from '../../src/firewall/fragment.js';
import { firewallFragment, type RulesetOptions } from '../../src/firewall/ruleset.js';
import { dnsRedirectFragment, redirectPort, RedirectConfigError } from '../../src/dns/redirect.js';

const fw: RulesetOptions = {
  table: 'gatehouse', lan: ['br-lan'], wan: ['wan0'], inbound: 'enforce', outbound: 'enforce', hitTimeoutSec: 3600, hitSetSize: 65536,
};
const rulesOf = (script: string, chain: string): string[] =>
  script.split('\n').filter((l) => l.startsWith(`add rule inet gatehouse ${chain} `)).map((l) => l.slice(`add rule inet gatehouse ${chain} `.length));

describe('dns.redirect_lan kernel fragment', () => {
  it('off: no fragment at all, so a DNS-only gateway never creates a table', () => {
    assert.equal(dnsRedirectFragment({ enabled: false, lanInterfaces: ['br-lan'], listen: [{ host: '0.0.0.0', port: 53 }] }), undefined);
  });

  it('on: LAN udp and tcp 53 of both families go to the listener port; 853 from the LAN is refused after the firewall', () => {
    const frag = dnsRedirectFragment({ enabled: true, lanInterfaces: ['br-lan'], listen: [{ host: '10.77.0.1', port: 5353 }, { host: '::', port: 53 }] });
    assert.ok(frag);
    const script = composeTable('gatehouse', [firewallFragment(fw), frag]).script;
    assert.deepEqual(rulesOf(script, 'nat_prerouting'), [
      'iifname { "br-lan" } meta nfproto ipv4 udp dport 53 redirect to :5353',
      'iifname { "br-lan" } meta nfproto ipv4 tcp dport 53 redirect to :5353',
      'iifname { "br-lan" } meta nfproto ipv6 udp dport 53 redirect to :53',
      'iifname { "br-lan" } meta nfproto ipv6 tcp dport 53 redirect to :53',
    ]);
    assert.match(script, /add chain inet gatehouse nat_prerouting \{ type nat hook prerouting priority dstnat - 10; policy accept; \}/);
    const forward = rulesOf(script, 'forward');
    // The firewall's jumps come first: a listed DoT server is reported as a reputation block.
    assert.ok(forward.indexOf('oifname { "wan0" } jump outbound') < forward.indexOf('iifname { "br-lan" } tcp dport 853 reject with tcp reset'));
    assert.ok(forward.includes('iifname { "br-lan" } udp dport 853 reject with icmpx type admin-prohibited'));
  });

  it('a family with only a loopback listener (or none) is left alone', () => {
    const frag = dnsRedirectFragment({ enabled: true, lanInterfaces: ['br-lan'], listen: [{ host: '0.0.0.0', port: 53 }, { host: '::1', port: 53 }] });
    const script = composeTable('gatehouse', [frag!]).script;
    assert.equal(rulesOf(script, 'nat_prerouting').filter((r) => r.includes('ipv6')).length, 0);
    assert.equal(rulesOf(script, 'nat_prerouting').length, 2);
    assert.equal(redirectPort([{ host: '127.0.0.1', port: 53 }], 4), undefined);
  });

  it('refuses what would redirect into nothing, with a message naming the key', () => {
    assert.throws(() => dnsRedirectFragment({ enabled: true, lanInterfaces: ['br-lan'], listen: [{ host: '127.0.0.1', port: 53 }] }), (e: Error) => e instanceof RedirectConfigError && /dns\.listen/.test(e.message));
    assert.throws(() => dnsRedirectFragment({ enabled: true, lanInterfaces: [], listen: [{ host: '0.0.0.0', port: 53 }] }), /interfaces\.lan/);
    assert.throws(() => dnsRedirectFragment({ enabled: true, lanInterfaces: ['br-lan'], listen: [{ host: '0.0.0.0', port: 70000 }] }), RedirectConfigError);
  });

  it('config text never becomes rule text: a hostile interface name is refused', () => {
    for (const name of ['br-lan"; flush ruleset; "', 'a b', 'x'.repeat(16), '']) {
      assert.throws(() => dnsRedirectFragment({ enabled: true, lanInterfaces: [name], listen: [{ host: '0.0.0.0', port: 53 }] }), KernelFragmentError, name);
    }
  });
});
