import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EnforcementView } from '../../src/decisions/enforcement-view.js';
import { openDecisionStore } from '../../src/decisions/store-service.js';
import { composeTable, renderRemoveStale } from '../../src/firewall/compose.js';
import { Enforcer } from '../../src/firewall/enforcer.js';
import { rule, type KernelFragment } from '../../src/firewall/fragment.js';
import { applyKernelTable } from '../../src/firewall/kernel-table.js';
import { parseTableObjects, type NftRunner } from '../../src/firewall/nft.js';
import { firewallFragment, renderSkeleton, type RulesetOptions } from '../../src/firewall/ruleset.js';

const fw: RulesetOptions = { table: 'gatehouse', lan: ['lan0'], wan: ['wan0'], inbound: 'enforce', outbound: 'enforce', hitTimeoutSec: 3600, hitSetSize: 65536 };
const only = composeTable('gatehouse', [firewallFragment(fw)]);

describe('renderRemoveStale', () => {
  it('flushes stale chains, then deletes them, then stale sets and maps; keeps what the composition declares', () => {
    const existing = {
      sets: [...only.sets, 'dns_clients4'],
      maps: ['portal_users'],
      quotas: ['shaper_day'],
      chains: [...only.chains, 'nat_prerouting', 'portal_gate'],
    };
    assert.deepEqual(renderRemoveStale('gatehouse', only, existing), [
      'flush chain inet gatehouse nat_prerouting',
      'flush chain inet gatehouse portal_gate',
      'delete chain inet gatehouse nat_prerouting',
      'delete chain inet gatehouse portal_gate',
      'delete set inet gatehouse dns_clients4',
      'delete map inet gatehouse portal_users',
      'delete quota inet gatehouse shaper_day',
    ]);
    assert.deepEqual(renderRemoveStale('gatehouse', only, { sets: only.sets, maps: [], quotas: [], chains: only.chains }), []);
  });

  it('never passes on a name from the kernel that Gatehouse could not have made', () => {
    const existing = { sets: ['x; flush ruleset', 'Upper'], maps: ['m\nflush ruleset'], quotas: ['q"'], chains: ['c } ; delete table inet filter'] };
    assert.deepEqual(renderRemoveStale('gatehouse', only, existing), []);
  });
});

describe('parseTableObjects', () => {
  it('reads one inet table\'s set, map and chain names from nft -j -t list ruleset, ignoring everything else', () => {
    const json = {
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'inet', name: 'gatehouse' } },
        { set: { family: 'inet', name: 's', table: 'gatehouse', type: 'ipv4_addr' } },
        { map: { family: 'inet', name: 'm', table: 'gatehouse', type: 'ipv4_addr', map: 'mark' } },
        { quota: { family: 'inet', name: 'q', table: 'gatehouse', bytes: 100 } },
        { chain: { family: 'inet', table: 'gatehouse', name: 'input', hook: 'input', prio: -10 } },
        { rule: { family: 'inet', table: 'gatehouse', chain: 'input', expr: [] } },
        { table: { family: 'inet', name: 'other' } },
        { set: { family: 'inet', name: 'o', table: 'other' } },
        { chain: { family: 'ip', table: 'gatehouse', name: 'ipchain' } },
        null,
        { set: { family: 'inet', table: 'gatehouse', name: 42 } },
      ],
    };
    assert.deepEqual(parseTableObjects(json, 'gatehouse'), { sets: ['s'], maps: ['m'], quotas: ['q'], chains: ['input'] });
    assert.deepEqual(parseTableObjects(json, 'other'), { sets: ['o'], maps: [], quotas: [], chains: [] });
    assert.equal(parseTableObjects(json, 'nosuch'), undefined);
    assert.equal(parseTableObjects('garbage', 'gatehouse'), undefined);
  });
});

describe('Enforcer with other modules\' fragments', () => {
  const withStore = (fn: (e: Enforcer, scripts: string[], nft: NftRunner & { listFails: boolean }) => Promise<void>) => async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-n3-'));
    const store = openDecisionStore(dir);
    try {
      const scripts: string[] = [];
      const nft = {
        listFails: false,
        apply: async (s: string) => void scripts.push(s),
        listSet: async () => undefined,
        hasTable: async (): Promise<boolean> => true,
        listObjects: async () => {
          if (nft.listFails) throw new Error('nft: cannot list');
          return { sets: [...only.sets, 'dns_old'], maps: [], quotas: [], chains: [...only.chains, 'nat_prerouting'] };
        },
      };
      await fn(new Enforcer(new EnforcementView(store.db), nft, fw, { info: () => undefined, error: () => undefined }), scripts, nft);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('a reconcile applies the whole composed table and removes what no module declares, in one transaction', withStore(async (e, scripts) => {
    const dns: KernelFragment = { module: 'dns', sets: [{ name: 'dns_a4', type: ['ipv4_addr'] }], hooks: [{ point: 'dns-redirect', chain: 'nat_prerouting', rules: [rule`udp dport 53 redirect to :5353`] }] };
    e.setFragments([dns]);
    await e.reconcile();
    assert.equal(scripts.length, 1);
    const s = scripts[0]!;
    assert.ok(s.startsWith(composeTable('gatehouse', [firewallFragment(fw), dns]).script));
    assert.ok(s.includes('add rule inet gatehouse nat_prerouting udp dport 53 redirect to :5353'));
    assert.ok(s.includes('delete set inet gatehouse dns_old'));
    // nat_prerouting is declared again, so it is not stale.
    assert.ok(!s.includes('delete chain'));
  }));

  it('a collision is refused when the fragments are handed over, and the table stays as it was', withStore(async (e, scripts) => {
    assert.throws(() => e.setFragments([{ module: 'portal', chains: [{ name: 'inbound', rules: [] }] }]), /portal: chain name "inbound" is already used by module firewall/);
    await e.reconcile();
    // Nothing was handed over: the table keeps its chains as the last run left them (see the next test).
    assert.ok(!scripts[0]!.includes('flush chain'));
    assert.ok(!scripts[0]!.includes('portal'));
  }));

  it('before the modules hand over their fragments, a restart keeps the chains as they are (no gap for a portal gate); a new table is made whole', withStore(async (e, scripts, nft) => {
    await e.reconcile();
    assert.ok(!scripts[0]!.includes('flush chain'), 'an existing table keeps its rules until the fragments are known');
    assert.ok(!scripts[0]!.includes('delete '), 'and nothing of other modules is removed');
    assert.ok(scripts[0]!.includes('flush set inet gatehouse both_ip4'), "the firewall's own sets are still refilled");
    nft.hasTable = async () => false;
    await e.reconcile();
    assert.ok(scripts[1]!.startsWith(renderSkeleton(fw)), 'a table that is not there yet gets every rule at once');
  }));

  it('fragments handed over after the start are applied by a full reconcile in the worker', withStore(async (e, scripts) => {
    await e.reconcile();
    const shaper: KernelFragment = { module: 'shaper', hooks: [{ point: 'shaper-classify', chain: 'mangle_postrouting', rules: [rule`meta mark set 1`] }] };
    e.setFragments([shaper]);
    await e.settled();
    assert.equal(scripts.length, 2);
    assert.ok(scripts[1]!.includes('add rule inet gatehouse mangle_postrouting meta mark set 1'));
    assert.ok(scripts[1]!.includes('flush set inet gatehouse both_ip4'), 'with the firewall\'s set contents, in the same transaction');
    await e.stop();
  }));

  it('when listing the table fails, the protection is still applied (only the cleanup waits)', withStore(async (e, scripts, nft) => {
    nft.listFails = true;
    e.setFragments([]);
    await e.reconcile();
    assert.equal(scripts.length, 1);
    assert.ok(scripts[0]!.startsWith(renderSkeleton(fw)));
    assert.ok(!scripts[0]!.includes('delete '));
  }));
});

describe('applyKernelTable (the firewall off, other modules on)', () => {
  const recorder = () => {
    const calls: string[] = [];
    const nft: NftRunner = {
      apply: async (s) => void calls.push(s),
      listSet: async () => undefined,
      hasTable: async () => {
        calls.push('hasTable');
        return false;
      },
      listObjects: async () => {
        calls.push('listObjects');
        return undefined;
      },
    };
    return { nft, calls };
  };
  const quiet = { error: () => undefined };

  it('with no fragment it runs no nft at all, so no table appears', async () => {
    const { nft, calls } = recorder();
    assert.equal(await applyKernelTable(nft, 'gatehouse', [], quiet), false);
    assert.deepEqual(calls, []);
  });

  it('applies only the modules\' fragments, in one transaction', async () => {
    const { nft, calls } = recorder();
    const dns: KernelFragment = { module: 'dns', hooks: [{ point: 'dns-redirect', chain: 'nat_prerouting', rules: [rule`udp dport 53 redirect to :5353`] }] };
    assert.equal(await applyKernelTable(nft, 'gatehouse', [dns], quiet), true);
    assert.deepEqual(calls, ['listObjects', composeTable('gatehouse', [dns]).script]);
    assert.ok(!calls[1]!.includes('inbound'));
  });
});
