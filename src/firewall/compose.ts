import {
  BASE_CHAINS,
  HOOK_POINTS,
  KernelFragmentError,
  MODULE_NAME,
  OBJECT_NAME,
  type BaseChainName,
  type ElementType,
  type KernelFragment,
  type NftRule,
} from './fragment.js';
import { TABLE_NAME } from './names.js';
import type { TableObjects } from './nft.js';

/** The whole table's declarations, and who owns which name. */
export interface ComposedTable {
  /** Idempotent nft script: declares everything, flushes and refills every chain (see composeTable). */
  readonly script: string;
  /** The script's first part: table, sets, maps, quotas and chains declared, no chain flushed or refilled. */
  readonly declarations: string;
  /** Set names, in render order. */
  readonly sets: readonly string[];
  /** Map names, in render order. */
  readonly maps: readonly string[];
  /** Quota names, in render order. */
  readonly quotas: readonly string[];
  /** Base and regular chain names, in render order. */
  readonly chains: readonly string[];
  /** Module owning each set, map or regular chain. */
  readonly owners: ReadonlyMap<string, string>;
  /** Prefixes of quotas modules create at run time (KernelFragment.runtimeQuotaPrefix), by module. */
  readonly runtimeQuotaPrefixes: ReadonlyMap<string, string>;
}

const ELEMENT_TYPES: ReadonlySet<ElementType> = new Set(['ipv4_addr', 'ipv6_addr', 'inet_proto', 'inet_service', 'ether_addr', 'mark', 'ifname']);
const SET_FLAGS: ReadonlySet<string> = new Set(['interval', 'timeout', 'dynamic', 'constant']);
const MAP_FLAGS: ReadonlySet<string> = new Set(['interval', 'timeout']);
const POINT_ORDER = new Map<string, number>(HOOK_POINTS.map((p, i) => [p.point, i]));
/** Whole-rule check on top of `rule`'s: quotes only as in `ifnames` and `quotaOver` tokens. */
const RULE_TEXT = /^(?:[A-Za-z0-9_ .,:{}\/!=<>@-]|"[A-Za-z0-9_.@-]{1,32}")+$/;
const QUOTA_REF = /\bquota name "([^"]*)"/g;
/** `@name`, but not a raw payload match (`@ih,0,64 …`: one of nft's four bases, offset, length). */
const SET_REF = /@(?!(?:ll|nh|th|ih),)([A-Za-z0-9_]+)/g;
const CHAIN_REF = /\b(?:jump|goto)\s+([A-Za-z0-9_]+)/g;

const fail = (msg: string): never => {
  throw new KernelFragmentError(msg);
};

function checkTypes(what: string, types: readonly string[]): string {
  if (types.length === 0) fail(`${what} needs a type`);
  for (const t of types) if (!ELEMENT_TYPES.has(t as ElementType)) fail(`${what}: unknown element type ${JSON.stringify(t)}`);
  return types.join(' . ');
}

function checkFlags(what: string, flags: readonly string[] | undefined, allowed: ReadonlySet<string>): string {
  if (!flags || flags.length === 0) return '';
  for (const f of flags) if (!allowed.has(f)) fail(`${what}: unknown flag ${JSON.stringify(f)}`);
  return ` flags ${[...new Set(flags)].join(',')};`;
}

function checkPositive(what: string, n: number | undefined, label: string): string {
  if (n === undefined) return '';
  if (!Number.isSafeInteger(n) || n <= 0) fail(`${what}: ${label} must be a positive integer`);
  return ` ${label} ${n}${label === 'timeout' ? 's' : ''};`;
}

/**
 * Checks the fragments and renders the one table they make, as one nft script that changes nothing but
 * Gatehouse's table: `add table`, every set and map (`add` keeps existing elements), every chain, then each
 * chain flushed and refilled. Applied as one transaction, a running gateway never has a moment without its
 * rules. Order is fixed: fragments in list order, each one's objects in declaration order; base chains in
 * BASE_CHAINS order, their rules by hook point, then by fragment. Base chains are flushed and refilled
 * before the regular chains they jump to.
 *
 * Throws KernelFragmentError on any invalid name, duplicate name (naming both owners), reference to another
 * module's set or chain, or rule text outside what `rule` produces.
 */
export function composeTable(table: string, fragments: readonly KernelFragment[]): ComposedTable {
  if (!TABLE_NAME.test(table)) fail(`table name ${JSON.stringify(table)} is not valid`);
  const t = `inet ${table}`;
  const owners = new Map<string, string>();
  const kinds = new Map<string, 'set' | 'map' | 'quota' | 'chain'>();
  const modules = new Set<string>();
  const runtimePrefixes = new Map<string, string>();
  const claim = (name: string, kind: 'set' | 'map' | 'quota' | 'chain', module: string): void => {
    if (!OBJECT_NAME.test(name)) fail(`${module}: ${kind} name ${JSON.stringify(name)} is not valid`);
    if (Object.hasOwn(BASE_CHAINS, name)) fail(`${module}: ${kind} name ${JSON.stringify(name)} is a base chain of the table`);
    const other = owners.get(name);
    if (other !== undefined) fail(`${module}: ${kind} name ${JSON.stringify(name)} is already used by ${other === module ? 'the same module' : `module ${other}`}`);
    owners.set(name, module);
    kinds.set(name, kind);
  };
  for (const f of fragments) {
    if (!MODULE_NAME.test(f.module)) fail(`module name ${JSON.stringify(f.module)} is not valid`);
    if (modules.has(f.module)) fail(`module ${f.module} contributes two kernel fragments`);
    modules.add(f.module);
    for (const s of f.sets ?? []) claim(s.name, 'set', f.module);
    for (const m of f.maps ?? []) claim(m.name, 'map', f.module);
    for (const q of f.quotas ?? []) claim(q.name, 'quota', f.module);
    for (const c of f.chains ?? []) claim(c.name, 'chain', f.module);
    if (f.runtimeQuotaPrefix !== undefined) {
      if (!OBJECT_NAME.test(f.runtimeQuotaPrefix)) fail(`${f.module}: runtime quota prefix ${JSON.stringify(f.runtimeQuotaPrefix)} is not valid`);
      for (const [m, p] of runtimePrefixes) {
        if (p.startsWith(f.runtimeQuotaPrefix) || f.runtimeQuotaPrefix.startsWith(p)) fail(`${f.module}: runtime quota prefix ${f.runtimeQuotaPrefix} overlaps module ${m}'s ${p}`);
      }
      runtimePrefixes.set(f.module, f.runtimeQuotaPrefix);
    }
  }
  const sets: string[] = [];
  const maps: string[] = [];
  const quotas: string[] = [];
  const setLines: string[] = [];
  for (const f of fragments) {
    for (const s of f.sets ?? []) {
      const what = `${f.module}: set ${s.name}`;
      const body = `type ${checkTypes(what, s.type)};${checkFlags(what, s.flags, SET_FLAGS)}${checkPositive(what, s.timeoutSec, 'timeout')}${checkPositive(what, s.size, 'size')}${s.counter === true ? ' counter;' : ''}`;
      setLines.push(`add set ${t} ${s.name} { ${body} }`);
      sets.push(s.name);
    }
    for (const m of f.maps ?? []) {
      const what = `${f.module}: map ${m.name}`;
      const value = m.value === 'verdict' || m.value === 'quota' || m.value === 'classid' ? m.value : checkTypes(what, [m.value]);
      setLines.push(`add map ${t} ${m.name} { type ${checkTypes(what, m.key)} : ${value};${checkFlags(what, m.flags, MAP_FLAGS)} }`);
      maps.push(m.name);
    }
    for (const q of f.quotas ?? []) {
      // `over N bytes`: re-adding an existing quota keeps what it used (nft 1.0.6, checked in a namespace).
      if (!Number.isSafeInteger(q.bytes) || q.bytes <= 0) fail(`${f.module}: quota ${q.name}: bytes must be a positive integer`);
      setLines.push(`add quota ${t} ${q.name} { over ${q.bytes} bytes }`);
      quotas.push(q.name);
    }
  }
  const checkRule = (module: string, where: string, r: NftRule): string => {
    const text = r.text;
    if (typeof text !== 'string' || !RULE_TEXT.test(text)) fail(`${module}: a rule in ${where} has text nft must not see: ${JSON.stringify(text)}`);
    // Interface names may hold '@': look for references outside quotes only.
    const bare = text.replace(/"[^"]*"/g, '""');
    const owned = (name: string, ...want: string[]): boolean => owners.get(name) === module && want.includes(kinds.get(name)!);
    for (const [, name] of bare.matchAll(SET_REF)) {
      if (!owned(name!, 'set', 'map')) fail(`${module}: a rule in ${where} refers to set ${name}, which it does not own`);
    }
    for (const [, name] of bare.matchAll(CHAIN_REF)) {
      if (!owned(name!, 'chain')) fail(`${module}: a rule in ${where} jumps to chain ${name}, which it does not own`);
    }
    for (const [, name] of text.matchAll(QUOTA_REF)) {
      if (!owned(name!, 'quota') && !(runtimePrefixes.has(module) && name!.startsWith(runtimePrefixes.get(module)!))) fail(`${module}: a rule in ${where} uses quota ${name}, which it does not own`);
    }
    return text;
  };
  // Base chains: rules gathered per chain, ordered by hook point, then by fragment order.
  const baseRules = new Map<BaseChainName, { order: number; seq: number; text: string }[]>();
  let seq = 0;
  for (const f of fragments) {
    for (const h of f.hooks ?? []) {
      const point = HOOK_POINTS.find((p) => p.point === h.point);
      if (!point) return fail(`${f.module}: unknown hook point ${JSON.stringify(h.point)}`);
      if (!(point.chains as readonly string[]).includes(h.chain)) fail(`${f.module}: hook point ${h.point} is not in base chain ${h.chain}`);
      if (!baseRules.has(h.chain)) baseRules.set(h.chain, []);
      const list = baseRules.get(h.chain)!;
      for (const r of h.rules) list.push({ order: POINT_ORDER.get(h.point)!, seq: seq++, text: checkRule(f.module, `${h.chain} (${h.point})`, r) });
    }
  }
  const regular: { name: string; rules: string[] }[] = [];
  for (const f of fragments) {
    for (const c of f.chains ?? []) regular.push({ name: c.name, rules: c.rules.map((r) => checkRule(f.module, `chain ${c.name}`, r)) });
  }
  const bases = (Object.keys(BASE_CHAINS) as BaseChainName[]).filter((b) => baseRules.has(b));
  const out = [`add table ${t}`, ...setLines];
  for (const b of bases) {
    const spec = BASE_CHAINS[b];
    out.push(`add chain ${t} ${b} { type ${spec.type} hook ${spec.hook} priority ${spec.priority}; policy accept; }`);
  }
  for (const c of regular) out.push(`add chain ${t} ${c.name}`);
  const declarations = out.join('\n') + '\n';
  for (const b of bases) {
    out.push(`flush chain ${t} ${b}`);
    const rules = baseRules.get(b)!.sort((x, y) => x.order - y.order || x.seq - y.seq);
    for (const r of rules) out.push(`add rule ${t} ${b} ${r.text}`);
  }
  for (const c of regular) {
    out.push(`flush chain ${t} ${c.name}`);
    for (const r of c.rules) out.push(`add rule ${t} ${c.name} ${r}`);
  }
  return {
    script: out.join('\n') + '\n',
    declarations,
    sets,
    maps,
    quotas,
    chains: [...bases, ...regular.map((c) => c.name)],
    owners,
    runtimeQuotaPrefixes: runtimePrefixes,
  };
}

/**
 * Lines that remove what the table holds but the composition no longer declares (a module switched off, a
 * renamed object): stale chains are flushed, then deleted, then stale sets, maps and quotas, so nothing they
 * reference is deleted while still in use. Appended to the composed script, the change is one transaction.
 * Names that do not match OBJECT_NAME were not made by Gatehouse and never reach nft from here.
 */
export function renderRemoveStale(table: string, composed: ComposedTable, existing: TableObjects): string[] {
  if (!TABLE_NAME.test(table)) fail(`table name ${JSON.stringify(table)} is not valid`);
  const t = `inet ${table}`;
  const keepChains = new Set(composed.chains);
  const stale = (names: readonly string[], keep: readonly string[]): string[] => [...new Set(names)].filter((n) => OBJECT_NAME.test(n) && !keep.includes(n)).sort();
  const chains = stale(existing.chains, composed.chains);
  return [
    ...chains.map((c) => `flush chain ${t} ${c}`),
    ...chains.map((c) => `delete chain ${t} ${c}`),
    ...stale(existing.sets, composed.sets).map((s) => `delete set ${t} ${s}`),
    ...stale(existing.maps, composed.maps).map((m) => `delete map ${t} ${m}`),
    ...stale(existing.quotas, composed.quotas)
      .filter((q) => ![...composed.runtimeQuotaPrefixes.values()].some((p) => q.startsWith(p)))
      .map((q) => `delete quota ${t} ${q}`),
  ];
}
