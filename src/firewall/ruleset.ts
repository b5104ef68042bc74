import type { Family } from '../net/ip.js';
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

const L4_WITH_PORTS = '{ tcp, udp, sctp, dccp }';

/** Only names that passed these checks ever reach nft; config validation should have caught them first. */
export function assertSafeOptions(o: RulesetOptions): void {
  if (!TABLE_NAME.test(o.table)) throw new Error(`firewall.table ${JSON.stringify(o.table)} is not a valid table name`);
  for (const i of [...o.lan, ...o.wan]) {
    if (!IFACE_NAME.test(i)) throw new Error(`interface name ${JSON.stringify(i)} is not valid`);
  }
  if (o.wan.length === 0) throw new Error('interfaces.wan must name at least one interface');
  if (!Number.isInteger(o.hitTimeoutSec) || o.hitTimeoutSec < 10) throw new Error('hit timeout must be at least 10 s');
}

const ifset = (names: readonly string[]): string => `{ ${names.map((n) => `"${n}"`).join(', ')} }`;
const addrType = (f: Family): string => (f === 4 ? 'ipv4_addr' : 'ipv6_addr');
const ipKw = (f: Family): string => (f === 4 ? 'ip' : 'ip6');

/**
 * The table's declarations and chains as one nft script. It is idempotent: `add` of an existing table or
 * set changes nothing and keeps the set's elements, and each chain is flushed and refilled in the same
 * transaction, so applying it to a running gateway never leaves a moment without the rules.
 */
export function renderSkeleton(o: RulesetOptions): string {
  assertSafeOptions(o);
  const t = `inet ${o.table}`;
  const out: string[] = [`add table ${t}`];
  for (const f of FAMILIES) {
    const type = addrType(f);
    out.push(`add set ${t} ${allowSet(f)} { type ${type}; flags interval; }`);
    for (const d of HOST_DIRS) out.push(`add set ${t} ${hostSet(d, f)} { type ${type}; flags timeout; }`);
    for (const d of ['in', 'out'] as const) {
      out.push(`add set ${t} ${netSet(d, f)} { type ${type}; flags interval; }`);
      out.push(
        `add set ${t} ${hitSet(d, f)} { type ${type} . ${type} . inet_proto . inet_service; flags dynamic,timeout; timeout ${o.hitTimeoutSec}s; size ${o.hitSetSize}; }`,
      );
    }
  }
  const chains: Record<string, string[]> = {
    inbound: checkRules('in', 'saddr'),
    outbound: checkRules('out', 'daddr'),
  };
  for (const f of FAMILIES) {
    chains[`in_hit${f}`] = hitRules('in', f, o.inbound);
    chains[`out_hit${f}`] = hitRules('out', f, o.outbound);
  }
  // Priority filter - 10: our drop is final whatever later chains accept, and we see packets before them.
  const hooks: Record<string, { hook: string; rules: string[] }> = {
    input: { hook: 'input', rules: o.inbound === 'off' ? [] : [`iifname ${ifset(o.wan)} jump inbound`] },
    forward: {
      hook: 'forward',
      rules: [
        ...(o.inbound === 'off' ? [] : [`iifname ${ifset(o.wan)} jump inbound`]),
        ...(o.outbound === 'off' ? [] : [`oifname ${ifset(o.wan)} jump outbound`]),
      ],
    },
    output: { hook: 'output', rules: o.outbound === 'off' ? [] : [`oifname ${ifset(o.wan)} jump outbound`] },
  };
  for (const [name, h] of Object.entries(hooks)) {
    out.push(`add chain ${t} ${name} { type filter hook ${h.hook} priority filter - 10; policy accept; }`);
  }
  for (const name of Object.keys(chains)) out.push(`add chain ${t} ${name}`);
  // Hook chains first so the regular chains they jump to can be flushed and refilled behind them.
  for (const [name, h] of Object.entries(hooks)) {
    out.push(`flush chain ${t} ${name}`);
    for (const r of h.rules) out.push(`add rule ${t} ${name} ${r}`);
  }
  for (const [name, rules] of Object.entries(chains)) {
    out.push(`flush chain ${t} ${name}`);
    for (const r of rules) out.push(`add rule ${t} ${name} ${r}`);
  }
  return out.join('\n') + '\n';
}

/** Allowlist first and only skips these checks (return), never accepts: other firewall rules still apply. */
function checkRules(dir: HitDir, field: 'saddr' | 'daddr'): string[] {
  // Replies belong to a connection the other side opened: judging them here would let an inbound-only
  // decision break the LAN's own connections, and monitor mode in one direction block the other.
  const rules: string[] = ['ct direction reply return'];
  for (const f of FAMILIES) rules.push(`${ipKw(f)} ${field} @${allowSet(f)} return`);
  for (const f of FAMILIES) {
    for (const s of [hostSet('both', f), hostSet(dir, f), netSet(dir, f)]) rules.push(`${ipKw(f)} ${field} @${s} goto ${dir}_hit${f}`);
  }
  return rules;
}

/**
 * Records client . remote . protocol . port with a packet counter, then applies the verdict. The key puts
 * the LAN/gateway side first in both directions so a report reads the same way.
 */
function hitRules(dir: HitDir, f: Family, mode: Mode): string[] {
  const ip = ipKw(f);
  const key = dir === 'out' ? `${ip} saddr . ${ip} daddr` : `${ip} daddr . ${ip} saddr`;
  const set = `@${hitSet(dir, f)}`;
  const rules = [
    `meta l4proto ${L4_WITH_PORTS} update ${set} { ${key} . meta l4proto . th dport counter }`,
    `meta l4proto != ${L4_WITH_PORTS} update ${set} { ${key} . meta l4proto . 0 counter }`,
  ];
  if (mode !== 'enforce') return rules;
  if (dir === 'in') return [...rules, 'drop'];
  // Outbound: answer at once so the user's browser fails fast instead of hanging on a silent drop.
  return [...rules, 'meta l4proto tcp reject with tcp reset', 'reject with icmpx type admin-prohibited'];
}

export function renderDeleteTable(table: string): string {
  if (!TABLE_NAME.test(table)) throw new Error(`invalid table name ${JSON.stringify(table)}`);
  return `delete table inet ${table}\n`;
}
