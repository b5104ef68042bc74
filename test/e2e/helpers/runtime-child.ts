/**
 * Runs inside a scratch namespace for firewall-runtime.test.ts: a module's runtime changes (KernelRuntime)
 * with the real nft, across a reconcile of the composed table. Prints what it saw as JSON.
 */
import { tableDeclarations } from '../../../src/firewall/kernel-table.js';
import { ifnames, rule, setRef, type KernelFragment } from '../../../src/firewall/fragment.js';
import { systemNft } from '../../../src/firewall/nft.js';
import { kernelRuntime } from '../../../src/firewall/runtime.js';

const portal: KernelFragment = {
  module: 'portal',
  runtimeQuotaPrefix: 'portal_q',
  sets: [
    { name: 'portal_auth4', type: ['ether_addr', 'ipv4_addr'], flags: ['timeout'] },
    { name: 'portal_down4', type: ['ipv4_addr'], flags: ['dynamic', 'timeout'], size: 1024, counter: true },
  ],
  maps: [{ name: 'portal_qdown4', key: ['ipv4_addr'], value: 'quota', flags: ['timeout'] }],
  hooks: [
    {
      point: 'portal-gate',
      chain: 'forward',
      rules: [rule`oifname ${ifnames(['lo'])} update ${setRef('portal_down4')} { ip daddr }`, rule`quota name ip daddr map ${setRef('portal_qdown4')} drop`],
    },
  ],
};
const quiet = { error: () => undefined };
const applyTable = async (): Promise<void> => systemNft.apply(await tableDeclarations(systemNft, 'gatehouse', [portal], quiet));
const rt = kernelRuntime({ table: 'gatehouse', nft: systemNft, module: 'portal', fragment: () => portal, ready: async () => undefined });
const out: Record<string, unknown> = {};
try {
  await applyTable();
  await rt.apply([
    { op: 'add-quota', name: 'portal_q1d', bytes: 5_000_000 },
    { op: 'add', set: 'portal_auth4', elements: [{ key: ['02:00:00:00:00:01', '10.9.0.7'], timeoutSec: 600 }] },
    { op: 'replace', set: 'portal_qdown4', elements: [{ key: ['10.9.0.7'], value: 'portal_q1d', timeoutSec: 600 }] },
    { op: 'add', set: 'portal_down4', elements: [{ key: ['10.9.0.7'], timeoutSec: 600 }] },
  ]);
  // A reconcile (the firewall re-applies the whole table) must keep the module's runtime quota and elements.
  await applyTable();
  out.auth = await rt.list('portal_auth4');
  out.qmap = await rt.list('portal_qdown4');
  out.down = await rt.list('portal_down4');
  // Deleting what is already gone (a timed-out element) is fine; a revoke removes map element then quota.
  await rt.apply([
    { op: 'delete', set: 'portal_auth4', elements: [{ key: ['02:00:00:00:00:01', '10.9.0.99'] }] },
    { op: 'delete', set: 'portal_qdown4', elements: [{ key: ['10.9.0.7'], value: 'portal_q1d' }] },
    { op: 'delete-quota', name: 'portal_q1d' },
  ]);
  out.qmapAfter = await rt.list('portal_qdown4');
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.error = (e as Error).message;
}
console.log(JSON.stringify(out));
