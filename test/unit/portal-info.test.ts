/** `gatehouse portal info`: the URL announced by RFC 8910 and the DHCP servers' lines carrying it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiUrl, dhcpOptionLines, portalHost } from '../../src/cli/commands/portal-info.js';

describe('portal info', () => {
  it('builds the API URL with brackets for IPv6 and no default port', () => {
    assert.equal(apiUrl('10.77.0.1', 8880, false), 'http://10.77.0.1:8880/api/captive');
    assert.equal(apiUrl('fd77::1', 443, true), 'https://[fd77::1]/api/captive');
    assert.equal(apiUrl('10.77.0.1', 80, false), 'http://10.77.0.1/api/captive');
  });

  it('uses the listen address unless it is a wildcard; --address wins; unknown interfaces give nothing', () => {
    assert.equal(portalHost('10.77.0.1', []), '10.77.0.1');
    assert.equal(portalHost('::', ['no-such-if0']), undefined);
    assert.equal(portalHost('::', [], '192.168.1.1'), '192.168.1.1');
  });

  it('prints option 114 for dnsmasq and ISC dhcpd with the exact URL, quoted', () => {
    const url = 'https://10.77.0.1:8443/api/captive';
    const text = dhcpOptionLines(url).join('\n');
    assert.match(text, /^  dhcp-option=114,"https:\/\/10\.77\.0\.1:8443\/api\/captive"$/m);
    assert.match(text, /^  option captive-portal code 114 = text;$/m);
    assert.match(text, /^  option captive-portal "https:\/\/10\.77\.0\.1:8443\/api\/captive";$/m);
    assert.match(text, /option6:103/);
  });
});
