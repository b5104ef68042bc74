/**
 * Domain names on the wire. Every reader is bounded: a compression pointer must point strictly before the
 * label run it continues (RFC 1035 §4.1.4 "a prior occurrence"), so each jump moves backwards and a loop is
 * impossible; the expanded name is at most 255 octets; every read is checked against the message end.
 */

/** Scratch for building name text: names are ≤ 255 octets, presentation escapes at most quadruple that. */
const scratch = Buffer.allocUnsafe(1024);

/** Offset just after the last name read by {@link readName} (in place, i.e. after a pointer's 2 bytes). */
export let nameEnd = 0;

/**
 * Reads the name at `off` (compression allowed) as lower-case presentation text without the trailing dot.
 * Returns undefined for anything malformed; the caller turns that into its own error.
 */
export function readName(msg: Uint8Array, off: number): string | undefined {
  const len = msg.length;
  let n = 0;
  let wire = 0;
  let segStart = off;
  let end = -1;
  for (;;) {
    if (off >= len) return undefined;
    const l = msg[off]!;
    if (l === 0) {
      if (end < 0) end = off + 1;
      break;
    }
    if (l >= 0xc0) {
      if (off + 1 >= len) return undefined;
      const target = ((l & 0x3f) << 8) | msg[off + 1]!;
      if (target >= segStart) return undefined;
      if (end < 0) end = off + 2;
      off = target;
      segStart = target;
      continue;
    }
    if (l >= 0x40) return undefined; // 0x40/0x80: extended label types (RFC 6891 retired them)
    wire += l + 1;
    if (wire > 254 || off + 1 + l > len) return undefined;
    if (n !== 0) scratch[n++] = 0x2e;
    n = copyLabel(msg, off + 1, l, n);
    off += l + 1;
  }
  nameEnd = end;
  return n === 0 ? '' : scratch.toString('latin1', 0, n);
}

/**
 * Reads an uncompressed name (a question's QNAME). Returns undefined for a pointer, a reserved label type,
 * a label or name too long, or a name running past the end; sets {@link nameEnd}.
 */
export function readPlainName(msg: Uint8Array, off: number): string | undefined {
  const len = msg.length;
  const start = off;
  let n = 0;
  for (;;) {
    if (off >= len) return undefined;
    const l = msg[off]!;
    if (l === 0) break;
    if (l >= 0x40) return undefined;
    if (off + 1 + l - start > 254 || off + 1 + l > len) return undefined;
    if (n !== 0) scratch[n++] = 0x2e;
    n = copyLabel(msg, off + 1, l, n);
    off += l + 1;
  }
  nameEnd = off + 1;
  return n === 0 ? '' : scratch.toString('latin1', 0, n);
}

function copyLabel(msg: Uint8Array, from: number, l: number, n: number): number {
  for (let i = from, e = from + l; i < e; i++) {
    const c = msg[i]!;
    if (c >= 0x61 && c <= 0x7a) scratch[n++] = c;
    else if (c >= 0x41 && c <= 0x5a) scratch[n++] = c | 0x20;
    else if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) scratch[n++] = c;
    else if (c === 0x2e || c === 0x5c) {
      scratch[n++] = 0x5c;
      scratch[n++] = c;
    } else {
      // \DDD as dig writes it, so "a\000b" never reads as "ab" (no two wire names share one string).
      scratch[n++] = 0x5c;
      scratch[n++] = 0x30 + ((c / 100) | 0);
      scratch[n++] = 0x30 + (((c / 10) | 0) % 10);
      scratch[n++] = 0x30 + (c % 10);
    }
  }
  return n;
}

/** Skips the name at `off` in place (a pointer ends it); -1 when it runs past the end or is malformed. */
export function skipName(msg: Uint8Array, off: number): number {
  const len = msg.length;
  const start = off;
  for (;;) {
    if (off >= len) return -1;
    const l = msg[off]!;
    if (l === 0) return off + 1;
    if (l >= 0xc0) return off + 1 < len ? off + 2 : -1;
    if (l >= 0x40) return -1;
    off += l + 1;
    if (off - start > 255) return -1;
  }
}

/**
 * Wire form of a presentation name ('' or '.' = root; `\.` and `\DDD` escapes understood). Undefined when a
 * label is empty or over 63 octets or the name over 255.
 */
export function encodeName(name: string): Uint8Array | undefined {
  if (name === '' || name === '.') return Uint8Array.of(0);
  const text = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  const bytes = Buffer.from(text, 'utf8');
  const out: number[] = [];
  let label: number[] = [];
  const flush = (): boolean => {
    if (label.length === 0 || label.length > 63) return false;
    out.push(label.length, ...label);
    label = [];
    return true;
  };
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x5c && i + 1 < bytes.length) {
      const d = bytes.subarray(i + 1, i + 4);
      if (d.length === 3 && d.every((x) => x >= 0x30 && x <= 0x39)) {
        const v = (d[0]! - 0x30) * 100 + (d[1]! - 0x30) * 10 + (d[2]! - 0x30);
        if (v > 255) return undefined;
        label.push(v);
        i += 3;
      } else {
        label.push(bytes[i + 1]!);
        i += 1;
      }
    } else if (c === 0x2e) {
      if (!flush()) return undefined;
    } else label.push(c);
  }
  if (!flush()) return undefined;
  out.push(0);
  return out.length > 255 ? undefined : Uint8Array.from(out);
}
