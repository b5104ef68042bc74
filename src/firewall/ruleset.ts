import type { Family } from '../net/ip.js';
import { composeTable } from './compose.js';
import { chainRef, ifnames, kw, rule, setRef, type ChainDecl, type ElementType, type KernelFragment, type NftRule, type NftToken, type SetDecl } from './fragment.js';
import { FAMILIES, HOST_DIRS, IFACE_NAME, TABLE_NAME, allowSet, hitSet, hostSet, netSet, type HitDir } from './names.js';

export type { FirewallMode as Mode } from './config.js';
import type { FirewallMode as Mode } from './config.js';

export interface RulesetOptions {
  readonly table: string;
  readonly lan: readonly string[];
  readonly wan: readonly string[];
  readonly inbound: Mode;
  readonly outbound: Mode;
  /** How long an idle client/remote pair stays in a hit set; the collector must poll more often than this. */
  readonly hitTimeoutSec: number;
  readonly hitSetSize: number;
}

/** Only names that passed these checks ever reach nft; config validation should have caught them first. */
export function assertSafeOptions(o: RulesetOptions): void {
  if (!TABLE_NAME.test(o.table)) throw new Error(`firewall.table ${JSON.stringify(o.table)} is not a valid table name`);
  for (const i of [...o.lan, ...o.wan]) {
    if (!IFACE_NAME.test(i)) throw new Error(`interface name ${JSON.stringify(i)} is not valid`);
  }
  if (o.wan.length === 0) throw new Error('interfaces.wan must name at least one interface');
  if (!Number.isInteger(o.hitTimeoutSec) || o.hitTimeoutSec < 10) throw new Error('hit timeout must be at least 10 s');
}

const ip = (f: Family): NftToken => kw(f === 4 ? 'ip' : 'ip6');
const addrType = (f: Family): ElementType => (f === 4 ? 'ipv4_addr' : 'ipv6_addr');

/** The module name of the reputation firewall's fragment. */
export const FIREWALL_MODULE = 'firewall';

/**
 * The reputation firewall's part of the table: its decision, allow and hit sets, its inbound/outbound
 * chains, and the jumps into them at the `reputation` hook point of input, forward and output. The names
 * are the ones the table always had, so an upgraded gateway's table keeps its sets and their elements.
 */
export function firewallFragment(o: RulesetOptions): KernelFragment {
  assertSafeOptions(o);
  const sets: SetDecl[] = [];
  for (const f of FAMILIES) {
    const type = addrType(f);
    sets.push({ name: allowSet(f), type: [type], flags: ['interval'] });
    for (const d of HOST_DIRS) sets.push({ name: hostSet(d, f), type: [type], flags: ['timeout'] });
    for (const d of ['in', 'out'] as const) {
      sets.push({ name: netSet(d, f), type: [type], flags: ['interval'] });
      sets.push({ name: hitSet(d, f), type: [type, type, 'inet_proto', 'inet_service'], flags: ['dynamic', 'timeout'], timeoutSec: o.hitTimeoutSec, size: o.hitSetSize });
    }
  }
  const chains: ChainDecl[] = [
    { name: 'inbound', rules: checkRules('in', 'saddr') },
    { name: 'outbound', rules: checkRules('out', 'daddr') },
  ];
  for (const f of FAMILIES) {
    chains.push({ name: `in_hit${f}`, rules: hitRules('in', f, o.inbound) }, { name: `out_hit${f}`, rules: hitRules('out', f, o.outbound) });
  }
  const wan = ifnames(o.wan);
  const inbound = o.inbound === 'off' ? [] : [rule`iifname ${wan} jump ${chainRef('inbound')}`];
  const outbound = o.outbound === 'off' ? [] : [rule`oifname ${wan} jump ${chainRef('outbound')}`];
  return {
    module: FIREWALL_MODULE,
    sets,
    chains,
    hooks: [
      { point: 'reputation', chain: 'input', rules: inbound },
      { point: 'reputation', chain: 'forward', rules: [...inbound, ...outbound] },
      { point: 'reputation', chain: 'output', rules: outbound },
    ],
  };
}

/**
 * The table's declarations and chains as one nft script, with only the firewall's fragment. It is
 * idempotent: see composeTable.
 */
export function renderSkeleton(o: RulesetOptions): string {
  return composeTable(o.table, [firewallFragment(o)]).script;
}

/** Allowlist first and only skips these checks (return), never accepts: other firewall rules still apply. */
function checkRules(dir: HitDir, field: 'saddr' | 'daddr'): NftRule[] {
  // Replies belong to a connection the other side opened: judging them here would let an inbound-only
  // decision break the LAN's own connections, and monitor mode in one direction block the other.
  const rules: NftRule[] = [rule`ct direction reply return`];
  const fld = kw(field);
  for (const f of FAMILIES) rules.push(rule`${ip(f)} ${fld} ${setRef(allowSet(f))} return`);
  for (const f of FAMILIES) {
    const hit = chainRef(`${dir}_hit${f}`);
    for (const s of [hostSet('both', f), hostSet(dir, f), netSet(dir, f)]) rules.push(rule`${ip(f)} ${fld} ${setRef(s)} goto ${hit}`);
  }
  return rules;
}

/**
 * Records client . remote . protocol . port with a packet counter, then applies the verdict. The key puts
 * the LAN/gateway side first in both directions so a report reads the same way.
 */
function hitRules(dir: HitDir, f: Family, mode: Mode): NftRule[] {
  const [client, remote] = dir === 'out' ? [kw('saddr'), kw('daddr')] : [kw('daddr'), kw('saddr')];
  const set = setRef(hitSet(dir, f));
  const rules = [
    rule`meta l4proto { tcp, udp, sctp, dccp } update ${set} { ${ip(f)} ${client} . ${ip(f)} ${remote} . meta l4proto . th dport counter }`,
    rule`meta l4proto != { tcp, udp, sctp, dccp } update ${set} { ${ip(f)} ${client} . ${ip(f)} ${remote} . meta l4proto . 0 counter }`,
  ];
  if (mode !== 'enforce') return rules;
  if (dir === 'in') return [...rules, rule`drop`];
  // Outbound: answer at once so the user's browser fails fast instead of hanging on a silent drop.
  return [...rules, rule`meta l4proto tcp reject with tcp reset`, rule`reject with icmpx type admin-prohibited`];
}

export function renderDeleteTable(table: string): string {
  if (!TABLE_NAME.test(table)) throw new Error(`invalid table name ${JSON.stringify(table)}`);
  return `delete table inet ${table}\n`;
}
