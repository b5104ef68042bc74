import ipaddr from 'ipaddr.js';
import { KernelFragmentError, OBJECT_NAME, type ElementType, type KernelFragment, type MapValueType } from './fragment.js';
import { IFACE_NAME } from './names.js';
import type { NftRunner } from './nft.js';
import { kernelTimeoutSec } from './timeout.js';

/*
 * What a module changes in its own sets, maps and quotas while it runs (a portal login, a shaper class):
 * typed operations, checked against the fragment the module declared and rendered here, applied as one nft
 * transaction. Nothing a caller passes becomes rule text: every key and value is parsed by the declared
 * element type and re-printed, so a MAC, address or class from a request or a config cannot smuggle syntax.
 */

export interface RuntimeElement {
  /** One text per part of the set's or map's key, e.g. ['10.0.0.7'] or ['02:00:00:00:00:01', '10.0.0.7']. */
  readonly key: readonly string[];
  /** Maps only: the value (a classid like '1:10', a quota name, a verdict, a number). Needed for delete too. */
  readonly value?: string;
  /** Seconds until the kernel drops it by itself (the set or map needs the timeout flag). */
  readonly timeoutSec?: number;
}

export type RuntimeOp =
  /** Adds, or (for an existing element) leaves it as is: nft 1.0.6 does not refresh a timeout on add. */
  | { readonly op: 'add'; readonly set: string; readonly elements: readonly RuntimeElement[] }
  /** Adds or, when present, replaces (timeout and value are renewed): delete-if-present then add. */
  | { readonly op: 'replace'; readonly set: string; readonly elements: readonly RuntimeElement[] }
  /** Removes whether or not the kernel still holds it (one it timed out already is fine). */
  | { readonly op: 'delete'; readonly set: string; readonly elements: readonly RuntimeElement[] }
  | { readonly op: 'flush'; readonly set: string }
  /** A named quota (`over N bytes`); its name starts with the fragment's runtimeQuotaPrefix. Re-adding keeps the bytes used. */
  | { readonly op: 'add-quota'; readonly name: string; readonly bytes: number }
  /** Removes a runtime quota (remove the map elements pointing to it first, in the same or an earlier apply). */
  | { readonly op: 'delete-quota'; readonly name: string };

export interface ListedElement {
  readonly key: readonly string[];
  readonly value?: string;
  readonly counter?: { readonly packets: number; readonly bytes: number };
  /** Seconds left before the kernel drops it. */
  readonly expiresSec?: number;
}

/** One module's handle on its own kernel objects (FirewallApi.runtime). */
export interface KernelRuntime {
  /** Resolves once the table holding the module's fragment is in the kernel (after the daemon applied it). */
  ready(): Promise<void>;
  /** Applies the operations as one transaction, after ready(). Throws RuntimeOpError before nft on bad input. */
  apply(ops: readonly RuntimeOp[]): Promise<void>;
  /** A set's or map's elements with counters and time left (`nft -j list set|map`: fast for small sets). */
  list(name: string): Promise<readonly ListedElement[]>;
}

export class RuntimeOpError extends KernelFragmentError {
  override name = 'RuntimeOpError';
}

const fail = (msg: string): never => {
  throw new RuntimeOpError(msg);
};

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
const CLASSID = /^[0-9a-f]{1,4}:[0-9a-f]{1,4}$/;
const UINT = /^(?:0x[0-9a-f]{1,8}|[0-9]{1,10})$/;

function uint(text: string, max: number, what: string): string {
  const t = text.toLowerCase();
  if (!UINT.test(t)) fail(`${what}: ${JSON.stringify(text)} is not a number`);
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < 0 || n > max) fail(`${what}: ${text} is out of range`);
  return String(n);
}

function address(text: string, family: 4 | 6, interval: boolean, what: string): string {
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined || addr === undefined) fail(`${what}: ${JSON.stringify(text)} is not an address`);
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  if (family === 4) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(addr!)) fail(`${what}: ${JSON.stringify(text)} is not an IPv4 address`);
    parsed = ipaddr.IPv4.parse(addr!);
  } else {
    if (addr!.includes('%') || !ipaddr.IPv6.isValid(addr!)) fail(`${what}: ${JSON.stringify(text)} is not an IPv6 address`);
    parsed = ipaddr.IPv6.parse(addr!);
  }
  if (len === undefined) return parsed.toString();
  if (!interval) fail(`${what}: ${text} is a range, and the set has no interval flag`);
  return `${parsed.toString()}/${uint(len, family === 4 ? 32 : 128, what)}`;
}

/** One key part, parsed by its declared type and printed back the way nft reads it. */
export function keyPart(type: ElementType, text: string, interval: boolean, what: string): string {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) fail(`${what}: empty or oversized ${type}`);
  switch (type) {
    case 'ipv4_addr':
      return address(text, 4, interval, what);
    case 'ipv6_addr':
      return address(text, 6, interval, what);
    case 'ether_addr': {
      const m = text.toLowerCase().replace(/-/g, ':');
      if (!MAC.test(m)) fail(`${what}: ${JSON.stringify(text)} is not a MAC address`);
      return m;
    }
    case 'inet_proto':
      return text === 'tcp' || text === 'udp' ? text : uint(text, 255, what);
    case 'inet_service':
      return uint(text, 65535, what);
    case 'mark':
      return uint(text, 0xffffffff, what);
    case 'ifname':
      if (!IFACE_NAME.test(text)) fail(`${what}: ${JSON.stringify(text)} is not an interface name`);
      return `"${text}"`;
  }
}

interface Target {
  readonly kind: 'set' | 'map';
  readonly key: readonly ElementType[];
  readonly value?: MapValueType;
  readonly timeout: boolean;
  readonly interval: boolean;
}

function targetOf(fragment: KernelFragment, name: string): Target {
  const s = fragment.sets?.find((x) => x.name === name);
  if (s) return { kind: 'set', key: s.type, timeout: s.flags?.includes('timeout') ?? false, interval: s.flags?.includes('interval') ?? false };
  const m = fragment.maps?.find((x) => x.name === name);
  if (m) return { kind: 'map', key: m.key, value: m.value, timeout: m.flags?.includes('timeout') ?? false, interval: m.flags?.includes('interval') ?? false };
  return fail(`${fragment.module}: no set or map ${JSON.stringify(name)} in its fragment`);
}

function ownsQuota(fragment: KernelFragment, name: string): boolean {
  return (fragment.quotas?.some((q) => q.name === name) ?? false) || (fragment.runtimeQuotaPrefix !== undefined && name.startsWith(fragment.runtimeQuotaPrefix));
}

function valueText(fragment: KernelFragment, t: MapValueType, text: string | undefined, what: string): string {
  if (text === undefined) return fail(`${what}: a map element needs its value`);
  switch (t) {
    case 'verdict':
      if (text !== 'accept' && text !== 'drop' && text !== 'return') fail(`${what}: verdict ${JSON.stringify(text)} is not accept, drop or return`);
      return text;
    case 'classid':
      if (!CLASSID.test(text.toLowerCase())) fail(`${what}: ${JSON.stringify(text)} is not a class id (major:minor in hex)`);
      return text.toLowerCase();
    case 'quota':
      if (!OBJECT_NAME.test(text) || !ownsQuota(fragment, text)) fail(`${what}: ${JSON.stringify(text)} is not one of the module's quotas`);
      return `"${text}"`;
    default:
      return keyPart(t, text, false, what);
  }
}

function elementText(fragment: KernelFragment, name: string, t: Target, e: RuntimeElement, withValue: boolean, withTimeout: boolean): string {
  const what = `${fragment.module}: ${t.kind} ${name}`;
  if (!Array.isArray(e.key) || e.key.length !== t.key.length) fail(`${what}: a key needs ${t.key.length} part(s)`);
  const key = t.key.map((type, i) => keyPart(type, e.key[i]!, t.interval, what)).join(' . ');
  let text = key;
  if (withTimeout && e.timeoutSec !== undefined) {
    if (!t.timeout) fail(`${what}: has no timeout flag`);
    if (!Number.isFinite(e.timeoutSec) || e.timeoutSec <= 0) fail(`${what}: timeout must be positive`);
    text += ` timeout ${kernelTimeoutSec(e.timeoutSec)}s`;
  }
  if (t.kind === 'map' && withValue) text += ` : ${valueText(fragment, t.value!, e.value, what)}`;
  return text;
}

/** The nft script for the operations; throws RuntimeOpError on anything the fragment does not allow. */
export function renderRuntimeOps(table: string, fragment: KernelFragment, ops: readonly RuntimeOp[]): string {
  const tt = `inet ${table}`;
  const out: string[] = [];
  const elems = (kw: 'add' | 'delete', name: string, kind: string, texts: readonly string[]): void => {
    for (let i = 0; i < texts.length; i += 2000) out.push(`${kw} element ${tt} ${name} { ${texts.slice(i, i + 2000).join(', ')} }`);
  };
  for (const op of ops) {
    switch (op.op) {
      case 'add':
      case 'replace':
      case 'delete': {
        const t = targetOf(fragment, op.set);
        if (op.elements.length === 0) break;
        const full = op.elements.map((e) => elementText(fragment, op.set, t, e, true, true));
        if (op.op === 'add') {
          elems('add', op.set, t.kind, full);
          break;
        }
        // nft 1.0.6 has no `destroy`, and deleting a missing element aborts the transaction: add first, so
        // the delete always finds it; nothing in between is visible outside the transaction.
        const keys = op.elements.map((e) => elementText(fragment, op.set, t, e, false, false));
        elems('add', op.set, t.kind, full);
        elems('delete', op.set, t.kind, keys);
        if (op.op === 'replace') elems('add', op.set, t.kind, full);
        break;
      }
      case 'flush':
        targetOf(fragment, op.set);
        out.push(`flush ${targetOf(fragment, op.set).kind} ${tt} ${op.set}`);
        break;
      case 'add-quota':
      case 'delete-quota': {
        if (!OBJECT_NAME.test(op.name) || fragment.runtimeQuotaPrefix === undefined || !op.name.startsWith(fragment.runtimeQuotaPrefix)) {
          fail(`${fragment.module}: quota ${JSON.stringify(op.name)} does not start with its runtimeQuotaPrefix`);
        }
        if (op.op === 'add-quota') {
          if (!Number.isSafeInteger(op.bytes) || op.bytes <= 0) fail(`${fragment.module}: quota ${op.name}: bytes must be a positive integer`);
          out.push(`add quota ${tt} ${op.name} { over ${op.bytes} bytes }`);
        } else {
          // Same trick as elements: an add makes the delete always valid.
          out.push(`add quota ${tt} ${op.name} { over 1 bytes }`, `delete quota ${tt} ${op.name}`);
        }
        break;
      }
    }
  }
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

const str = (v: unknown): string => (typeof v === 'number' ? String(v) : typeof v === 'string' ? v : JSON.stringify(v));

function keyOf(v: unknown): string[] {
  if (typeof v === 'object' && v !== null && 'concat' in v && Array.isArray((v as { concat: unknown }).concat)) return (v as { concat: unknown[] }).concat.map(str);
  if (typeof v === 'object' && v !== null && 'prefix' in v) {
    const p = (v as { prefix: { addr?: unknown; len?: unknown } }).prefix;
    return [`${str(p.addr)}/${str(p.len)}`];
  }
  return [str(v)];
}

/** Elements of `nft -j list set|map` output (nft 1.0.6 shapes: bare values, {elem:{…}}, [key, value] pairs). */
export function parseListedElements(json: unknown): ListedElement[] {
  const items = (json as { nftables?: unknown } | null)?.nftables;
  const out: ListedElement[] = [];
  for (const item of Array.isArray(items) ? (items as unknown[]) : []) {
    const o = (item as { set?: { elem?: unknown }; map?: { elem?: unknown } } | null) ?? {};
    const body = o.set ?? o.map;
    if (!body || !Array.isArray(body.elem)) continue;
    for (const raw of body.elem as unknown[]) {
      const [k, value] = Array.isArray(raw) ? [raw[0], raw[1]] : [raw, undefined];
      const e = typeof k === 'object' && k !== null && 'elem' in k ? (k as { elem: Record<string, unknown> }).elem : undefined;
      const val = e ? e.val : k;
      const c = e?.counter as { packets?: unknown; bytes?: unknown } | undefined;
      out.push({
        key: keyOf(val),
        ...(value !== undefined ? { value: str(value) } : {}),
        ...(c && typeof c.bytes === 'number' && typeof c.packets === 'number' ? { counter: { packets: c.packets, bytes: c.bytes } } : {}),
        ...(e && typeof e.expires === 'number' ? { expiresSec: e.expires } : {}),
      });
    }
  }
  return out;
}

/** Builds a module's KernelRuntime on the firewall's nft and the fragment it declared. */
export function kernelRuntime(opts: {
  readonly table: string;
  readonly nft: NftRunner;
  readonly fragment: () => KernelFragment | undefined;
  readonly ready: () => Promise<void>;
  readonly module: string;
}): KernelRuntime {
  const fragment = (): KernelFragment => opts.fragment() ?? fail(`module ${opts.module} has no kernel fragment in the table`);
  return {
    ready: opts.ready,
    async apply(ops) {
      await opts.ready();
      const script = renderRuntimeOps(opts.table, fragment(), ops);
      if (script !== '') await opts.nft.apply(script);
    },
    async list(name) {
      await opts.ready();
      const t = targetOf(fragment(), name);
      const json = t.kind === 'map' ? await opts.nft.listMap!(opts.table, name) : await opts.nft.listSet(opts.table, name);
      return json === undefined ? [] : parseListedElements(json);
    },
  };
}
