import { IFACE_NAME } from './names.js';

/**
 * What a module contributes to the one `inet gatehouse` table: its sets, maps and chains, and rules hooked
 * at named points of the table's base chains. The composer (compose.ts) checks and renders all fragments
 * into one declaration script; the enforcer applies it in one transaction, then each module applies its
 * own element differences to its own sets.
 *
 * Nothing from config or the network is ever rule text: rules are built with the `rule` tag below, whose
 * literal parts can only come from source code, and whose interpolations are tokens made by checked
 * constructors (set and chain references, interface names, integers). Config values reach nft only as
 * elements of a set, or through those constructors.
 */

/** Netfilter hooks Gatehouse's base chains attach to, in the order a packet meets them. */
export type BaseHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

export interface BaseChainSpec {
  readonly type: 'filter' | 'nat';
  readonly hook: BaseHook;
  /** nft's priority expression; lower runs first among chains on the same hook. */
  readonly priority: string;
}

/**
 * The table's base chains, in render order. input/forward/output keep the names and priority they always
 * had (filter - 10: our drop is final whatever later chains accept, and we see packets before them).
 */
export const BASE_CHAINS = {
  /** dstnat - 10 = -110: our redirects happen before any other DNAT rule sees the packet. */
  nat_prerouting: { type: 'nat', hook: 'prerouting', priority: 'dstnat - 10' },
  input: { type: 'filter', hook: 'input', priority: 'filter - 10' },
  forward: { type: 'filter', hook: 'forward', priority: 'filter - 10' },
  output: { type: 'filter', hook: 'output', priority: 'filter - 10' },
  /** mangle = -150: marks are set before routing decisions and qdiscs on the egress device read them. */
  mangle_postrouting: { type: 'filter', hook: 'postrouting', priority: 'mangle' },
} as const satisfies Record<string, BaseChainSpec>;

export type BaseChainName = keyof typeof BASE_CHAINS;

/**
 * Named points where modules hook rules, in order. Within one base chain the rules of an earlier point
 * come first; within one point, fragments' rules follow the order of the fragment list (the module list).
 */
export const HOOK_POINTS = [
  /** DNS filter: LAN clients' port-53 traffic to the gateway's resolver. */
  { point: 'dns-redirect', chains: ['nat_prerouting'] },
  /** Captive portal: unauthenticated clients' HTTP to the portal. */
  { point: 'portal-redirect', chains: ['nat_prerouting'] },
  /** Anything that must run before the reputation checks (e.g. exemptions that `return`). */
  { point: 'before-reputation', chains: ['input', 'forward', 'output'] },
  /** The reputation firewall's jumps into its inbound/outbound chains. */
  { point: 'reputation', chains: ['input', 'forward', 'output'] },
  /** Captive portal: forwarded traffic of clients that have not logged in, and what they may reach on the gateway (input). */
  { point: 'portal-gate', chains: ['forward', 'input'] },
  /**
   * Fair-share shaper: P2P signatures and hog guards in forward (connection caps reject: a filter hook); LAN
   * multicast (BitTorrent LSD) in nat_prerouting, the last place it passes: a group the gateway did not join
   * is dropped before input.
   */
  { point: 'shaper-guards', chains: ['nat_prerouting', 'forward'] },
  /** Fair-share shaper: marks that pick a traffic class. */
  { point: 'shaper-classify', chains: ['mangle_postrouting'] },
] as const satisfies readonly { point: string; chains: readonly BaseChainName[] }[];

export type HookPoint = (typeof HOOK_POINTS)[number]['point'];

/** Set, map and chain names: lower case, as nft and shell-free logs like them. */
export const OBJECT_NAME = /^[a-z][a-z0-9_]{0,31}$/;
/** A module's name (its fragment's owner); also the suggested prefix of its new objects' names. */
export const MODULE_NAME = /^[a-z][a-z0-9_]{0,15}$/;

export type ElementType = 'ipv4_addr' | 'ipv6_addr' | 'inet_proto' | 'inet_service' | 'ether_addr' | 'mark' | 'ifname';
export type SetFlag = 'interval' | 'timeout' | 'dynamic' | 'constant';

export interface SetDecl {
  readonly name: string;
  /** One type, or several for a concatenation (`a . b`). */
  readonly type: readonly ElementType[];
  readonly flags?: readonly SetFlag[];
  /** Default element timeout. */
  readonly timeoutSec?: number;
  /** Maximum elements (dynamic sets must have one to stay bounded). */
  readonly size?: number;
  /** Every element carries a packet/byte counter (read with KernelRuntime.list: per-client accounting). */
  readonly counter?: boolean;
}

/**
 * What a map's elements point to: a plain type, a verdict, a named quota of the same fragment (`quota name
 * ip daddr map @m`), or an HTB class (`meta priority set ip saddr map @m`, value like `1:10`).
 */
export type MapValueType = ElementType | 'verdict' | 'quota' | 'classid';

export interface MapDecl {
  readonly name: string;
  readonly key: readonly ElementType[];
  readonly value: MapValueType;
  readonly flags?: readonly ('interval' | 'timeout')[];
}

/**
 * A named quota (`over N bytes`): a rule with `quotaRef(name)` counts the bytes it sees against it and
 * matches once they pass the limit. Re-applying the table keeps the bytes used so far and takes a new limit.
 */
export interface QuotaDecl {
  readonly name: string;
  readonly bytes: number;
}

declare const ruleBrand: unique symbol;
declare const tokenBrand: unique symbol;

/** One rule's text, made only by `rule`. */
export interface NftRule {
  readonly text: string;
  readonly [ruleBrand]: true;
}

/** A checked piece of a rule, made only by the constructors below. */
export interface NftToken {
  readonly nft: string;
  readonly [tokenBrand]: true;
}

export interface ChainDecl {
  readonly name: string;
  readonly rules: readonly NftRule[];
}

export interface HookRules {
  readonly point: HookPoint;
  readonly chain: BaseChainName;
  /** May be empty: the base chain is still declared and flushed, so rules of a previous config go. */
  readonly rules: readonly NftRule[];
}

export interface KernelFragment {
  /** The owning module (MODULE_NAME); every name below belongs to it and may be referenced only by it. */
  readonly module: string;
  readonly sets?: readonly SetDecl[];
  readonly maps?: readonly MapDecl[];
  readonly quotas?: readonly QuotaDecl[];
  readonly chains?: readonly ChainDecl[];
  readonly hooks?: readonly HookRules[];
  /**
   * Named quotas the module creates while running (KernelRuntime `add-quota`), e.g. one per portal session:
   * every such name starts with this prefix (OBJECT_NAME), and a reconcile never removes them as stale while
   * the fragment is present.
   */
  readonly runtimeQuotaPrefix?: string;
}

export class KernelFragmentError extends Error {
  override name = 'KernelFragmentError';
}

const token = (nft: string): NftToken => ({ nft }) as NftToken;

/** `@name`: a set or map of the same fragment (the composer checks ownership). */
export function setRef(name: string): NftToken {
  if (!OBJECT_NAME.test(name)) throw new KernelFragmentError(`set name ${JSON.stringify(name)} is not valid`);
  return token(`@${name}`);
}

/** A chain of the same fragment, for `jump`/`goto` (the composer checks ownership). */
export function chainRef(name: string): NftToken {
  if (!OBJECT_NAME.test(name)) throw new KernelFragmentError(`chain name ${JSON.stringify(name)} is not valid`);
  return token(name);
}

/** `quota name "x"`: the fragment's quota x (see QuotaDecl). */
export function quotaRef(name: string): NftToken {
  if (!OBJECT_NAME.test(name)) throw new KernelFragmentError(`quota name ${JSON.stringify(name)} is not valid`);
  return token(`quota name "${name}"`);
}

/** `{ "eth0", "wwan0" }`: interface names checked against what the kernel allows (15 chars, no quotes). */
export function ifnames(names: readonly string[]): NftToken {
  if (names.length === 0) throw new KernelFragmentError('an interface set needs at least one name');
  for (const n of names) if (!IFACE_NAME.test(n)) throw new KernelFragmentError(`interface name ${JSON.stringify(n)} is not valid`);
  return token(`{ ${names.map((n) => `"${n}"`).join(', ')} }`);
}

const KEYWORDS = ['ip', 'ip6', 'saddr', 'daddr', 'iifname', 'oifname', 'accept', 'drop', 'return'] as const;
export type Keyword = (typeof KEYWORDS)[number];

/** Fixed words a rule picks in code (address family, field, verdict), e.g. kw(f === 4 ? 'ip' : 'ip6'). */
export function kw(word: Keyword): NftToken {
  if (!(KEYWORDS as readonly string[]).includes(word)) throw new KernelFragmentError(`${JSON.stringify(word)} is not a rule keyword`);
  return token(word);
}

/** A non-negative integer (ports, marks, seconds). */
export function int(n: number): NftToken {
  if (!Number.isSafeInteger(n) || n < 0) throw new KernelFragmentError(`${String(n)} is not a non-negative integer`);
  return token(String(n));
}

/** `{ 80, 443 }`: a non-empty list of non-negative integers (ports picked in code), for an anonymous set. */
export function ints(ns: readonly number[]): NftToken {
  if (ns.length === 0) throw new KernelFragmentError('an integer set needs at least one number');
  return token(`{ ${ns.map((n) => int(n).nft).join(', ')} }`);
}

/** `0x13426974…`: bytes (1–16, one raw payload match's limit) as a hex constant, for `@ih,0,128 ${hex(…)}`. */
export function hex(bytes: Uint8Array): NftToken {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0 || bytes.length > 16) throw new KernelFragmentError('a hex constant needs 1 to 16 bytes');
  return token(`0x${Buffer.from(bytes).toString('hex')}`);
}

/** Rule text outside strings: no `;` (a second command), no newline, no comment, no quote. */
const RULE_LITERAL = /^[A-Za-z0-9_ .,:{}\/!=<>@-]*$/;

/**
 * A rule from source text and checked tokens: rule`ip saddr ${setRef('allow4')} return`. The literal parts
 * must come from a template literal in code (frozen, with `raw`), never from config.
 */
export function rule(strings: TemplateStringsArray, ...parts: readonly NftToken[]): NftRule {
  if (!Array.isArray(strings) || !Object.isFrozen(strings) || !Array.isArray(strings.raw)) {
    throw new KernelFragmentError('rule text must be a template literal in code');
  }
  let text = '';
  strings.forEach((s, i) => {
    if (!RULE_LITERAL.test(s)) throw new KernelFragmentError(`rule text ${JSON.stringify(s)} has characters nft rules here never need`);
    text += s;
    if (i < parts.length) {
      const p = parts[i]!;
      if (typeof p !== 'object' || p === null || typeof p.nft !== 'string') throw new KernelFragmentError('rule parts must be made by setRef, chainRef, quotaRef, ifnames, kw, int, ints or hex');
      text += p.nft;
    }
  });
  text = text.trim();
  if (text.length === 0) throw new KernelFragmentError('empty rule');
  return { text } as NftRule;
}
