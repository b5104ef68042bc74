/**
 * Runs inside a scratch namespace for firewall-kernel-table.test.ts: an enforcer with the real nft and,
 * depending on the step, other modules' fragments. Prints the enforcer's status (or the error) as JSON.
 */
import { openDecisionStore } from '../../../src/decisions/store-service.js';
import { EnforcementView } from '../../../src/decisions/enforcement-view.js';
import { Enforcer } from '../../../src/firewall/enforcer.js';
import { chainRef, ifnames, int, quotaRef, rule, setRef, type KernelFragment } from '../../../src/firewall/fragment.js';
import { systemNft } from '../../../src/firewall/nft.js';

const [step, dataDir] = process.argv.slice(2) as ['modules' | 'firewall-only' | 'collide', string];

const dns: KernelFragment = {
  module: 'dns',
  sets: [{ name: 'dns_clients4', type: ['ipv4_addr'], flags: ['interval'] }],
  hooks: [{ point: 'dns-redirect', chain: 'nat_prerouting', rules: [rule`ip saddr ${setRef('dns_clients4')} udp dport ${int(53)} redirect to :${int(5353)}`] }],
};
const portal: KernelFragment = {
  module: 'portal',
  maps: [{ name: 'portal_users', key: ['ether_addr'], value: 'mark' }],
  chains: [{ name: 'portal_gate', rules: [rule`drop`] }],
  hooks: [
    { point: 'portal-gate', chain: 'forward', rules: [rule`iifname ${ifnames(['lo'])} ip daddr 192.0.2.200 jump ${chainRef('portal_gate')}`] },
    { point: 'before-reputation', chain: 'forward', rules: [rule`meta l4proto udp udp dport ${int(67)} return`] },
  ],
};
const shaper: KernelFragment = {
  module: 'shaper',
  quotas: [{ name: 'shaper_day', bytes: 1_000_000 }],
  hooks: [{ point: 'shaper-classify', chain: 'mangle_postrouting', rules: [rule`${quotaRef('shaper_day')} meta mark set ${int(1)}`] }],
};

const store = openDecisionStore(dataDir);
const quiet = { info: () => undefined, error: () => undefined };
const opts = { table: 'gatehouse', lan: ['lo'], wan: ['lo'], inbound: 'enforce', outbound: 'enforce', hitTimeoutSec: 60, hitSetSize: 65536 } as const;
const e = new Enforcer(new EnforcementView(store.db), systemNft, opts, quiet);
try {
  if (step === 'modules') {
    store.service.add({ value: '192.0.2.9', origin: 'manual' });
    e.setFragments([dns, portal, shaper]);
  } else if (step === 'firewall-only') {
    // What the daemon does when the modules that contributed are switched off: no fragments at all.
    e.setFragments([]);
  } else if (step === 'collide') {
    e.setFragments([{ module: 'dns', sets: [{ name: 'allow4', type: ['ipv4_addr'] }] }]);
  }
  await e.reconcile();
  console.log(JSON.stringify({ ok: true, status: e.status }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: (err as Error).message }));
} finally {
  await e.stop();
  store.close();
}
