import { tryParseTarget, type Target } from './ip.js';

/**
 * Parses one IP or CIDR token into the same Target that net/ip.ts parseTarget returns, with a hand-written
 * IPv4 path: feeds are almost all IPv4 and parseTarget (ipaddr.js + regex) costs ~2 µs a line, which is too
 * slow for million-line lists. Anything the fast path does not recognise goes to tryParseTarget, so the
 * accepted language and the canonical text stay exactly those of parseTarget.
 */
export function parseToken(token: string): Target | undefined {
  const v4 = parseV4(token);
  if (v4 !== undefined) return v4;
  return tryParseTarget(token);
}

function parseV4(s: string): Target | undefined {
  const key = v4Key(s);
  return key < 0 ? undefined : new V4Target(Math.floor(key / 64), key % 64);
}

/**
 * The fast path's IPv4 grammar without allocating: `start * 64 + prefix` (start = first address of the
 * network, as an unsigned 32-bit number), or -1 when `s` is not a plain dotted IPv4 address or CIDR.
 * Used to diff a million stored texts against a parsed list without building a Target for each.
 */
export function v4Key(s: string): number {
  const len = s.length;
  let i = 0;
  let addr = 0;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= len || s.charCodeAt(i) !== 46 /* . */) return -1;
      i++;
    }
    const first = i;
    let value = 0;
    while (i < len) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      value = value * 10 + c;
      i++;
      if (i - first > 3) return -1;
    }
    const digits = i - first;
    // Leading zeros ("010") are ambiguous (octal in some tools), so parseTarget rejects them; so do we.
    if (digits === 0 || value > 255 || (digits > 1 && s.charCodeAt(first) === 48)) return -1;
    addr = addr * 256 + value;
  }
  let prefix = 32;
  if (i < len) {
    if (s.charCodeAt(i) !== 47 /* / */) return -1;
    i++;
    const first = i;
    let value = 0;
    while (i < len) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return -1;
      value = value * 10 + c;
      i++;
    }
    const digits = i - first;
    if (digits === 0 || digits > 3 || value > 32) return -1;
    prefix = value;
  }
  const size = 2 ** (32 - prefix);
  return Math.floor(addr / size) * size * 64 + prefix;
}

/**
 * An IPv4 Target that holds only its first address and prefix; text and byte buffers are derived on use.
 * Per-entry strings, Buffers and extra fields are most of the allocation (and GC) cost of a million-line list.
 */
export class V4Target implements Target {
  private textCache: string | undefined;

  constructor(
    /** First address as an unsigned 32-bit number. */
    readonly startInt: number,
    readonly prefix: number,
  ) {}

  get family(): 4 {
    return 4;
  }

  get isHost(): boolean {
    return this.prefix === 32;
  }

  /** Last address as an unsigned 32-bit number. */
  get endInt(): number {
    return this.startInt + 2 ** (32 - this.prefix) - 1;
  }

  /** Built on first use and cached, flat. */
  get text(): string {
    if (this.textCache === undefined) {
      const s = this.startInt;
      const base = `${OCTETS[s >>> 24]}.${OCTETS[(s >>> 16) & 255]}.${OCTETS[(s >>> 8) & 255]}.${OCTETS[s & 255]}`;
      this.textCache = this.prefix === 32 ? base : `${base}/${this.prefix}`;
    }
    return this.textCache;
  }

  /** A fresh Buffer on each read (callers may keep or change it). */
  get start(): Buffer {
    return u32(this.startInt);
  }

  get end(): Buffer {
    return u32(this.endInt);
  }

  /** Plain-object form, so JSON carries the same fields as parseTarget's result. */
  toJSON(): Target {
    return { text: this.text, family: 4, prefix: this.prefix, isHost: this.isHost, start: this.start, end: this.end };
  }
}

const OCTETS: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}
