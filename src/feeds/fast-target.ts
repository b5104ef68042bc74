import { tryParseTarget, type Target } from '../net/ip.js';

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
  const len = s.length;
  let i = 0;
  let addr = 0;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= len || s.charCodeAt(i) !== 46 /* . */) return undefined;
      i++;
    }
    const first = i;
    let value = 0;
    while (i < len) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      value = value * 10 + c;
      i++;
      if (i - first > 3) return undefined;
    }
    const digits = i - first;
    // Leading zeros ("010") are ambiguous (octal in some tools), so parseTarget rejects them; so do we.
    if (digits === 0 || value > 255 || (digits > 1 && s.charCodeAt(first) === 48)) return undefined;
    addr = addr * 256 + value;
  }
  let prefix = 32;
  if (i < len) {
    if (s.charCodeAt(i) !== 47 /* / */) return undefined;
    i++;
    const first = i;
    let value = 0;
    while (i < len) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return undefined;
      value = value * 10 + c;
      i++;
    }
    const digits = i - first;
    if (digits === 0 || digits > 3 || value > 32) return undefined;
    prefix = value;
  }
  const size = 2 ** (32 - prefix);
  const startInt = Math.floor(addr / size) * size;
  return new V4Target(startInt, startInt + size - 1, prefix);
}

/**
 * An IPv4 Target whose text and byte buffers are made only when someone reads them: per-entry strings and
 * Buffers are most of the allocation (and GC) cost of a million-line list.
 */
export class V4Target implements Target {
  readonly family = 4 as const;
  readonly isHost: boolean;
  private textCache: string | undefined;
  private startBuf: Buffer | undefined;
  private endBuf: Buffer | undefined;

  constructor(
    /** First address as an unsigned 32-bit number. */
    readonly startInt: number,
    /** Last address as an unsigned 32-bit number. */
    readonly endInt: number,
    readonly prefix: number,
  ) {
    this.isHost = prefix === 32;
  }

  /** Built on first use and kept flat: a million entries' texts as concatenation trees cost more GC than parsing. */
  get text(): string {
    if (this.textCache === undefined) {
      const s = this.startInt;
      const base = `${OCTETS[s >>> 24]}.${OCTETS[(s >>> 16) & 255]}.${OCTETS[(s >>> 8) & 255]}.${OCTETS[s & 255]}`;
      this.textCache = this.isHost ? base : `${base}/${this.prefix}`;
    }
    return this.textCache;
  }

  get start(): Buffer {
    return (this.startBuf ??= u32(this.startInt));
  }

  get end(): Buffer {
    return (this.endBuf ??= u32(this.endInt));
  }

  /** Plain-object form, so JSON and structured clone carry the same fields as parseTarget's result. */
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
