/**
 * Address text → 32-bit words, without allocating: the IP index parses every address of every answer, so
 * this is on the resolver's hot path (ipaddr.js allocates arrays and objects per call).
 */

/** IPv4 dotted quad → unsigned 32-bit value; -1 when it is not one (no leading zeros check: answers are canonical). */
export function parseV4(s: string, from = 0, to = s.length): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const groups = new Uint16Array(8);
const wide = new Uint16Array(8);

/**
 * IPv6 text → four big-endian 32-bit words in `out`. Returns 6, or 4 for an IPv4-mapped address
 * (::ffff:a.b.c.d, whose IPv4 value is then in out[0]) or -1 when it is not an address. A zone (%eth0) is
 * refused: answers carry none.
 */
export function parseV6(s: string, out: Uint32Array): 4 | 6 | -1 {
  const n = s.length;
  if (n < 2 || n > 45) return -1;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return -1;
    gap = 0;
    i = 2;
    if (i === n) {
      out.fill(0);
      return 6;
    }
  }
  let v4 = -1;
  while (i < n) {
    let j = i;
    let v = 0;
    while (j < n && j - i < 5) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < n && s.charCodeAt(j) === 46) {
      // Embedded IPv4 as the last two groups.
      if (count > 6) return -1;
      v4 = parseV4(s, i, n);
      if (v4 < 0) return -1;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = n;
      break;
    }
    if (j === i || j - i > 4 || count >= 8) return -1;
    groups[count++] = v;
    if (j === n) {
      i = n;
      break;
    }
    if (s.charCodeAt(j) !== 58) return -1;
    j++;
    if (j < n && s.charCodeAt(j) === 58) {
      if (gap >= 0) return -1;
      gap = count;
      j++;
    } else if (j === n) return -1;
    i = j;
  }
  if (gap < 0 && count !== 8) return -1;
  if (gap >= 0 && count > 7) return -1;
  const fill = 8 - count;
  // Expand the "::" gap into `wide`, then pack pairs of groups into words.
  let k = 0;
  for (let g = 0; g < count; g++) {
    if (g === gap) for (let z = 0; z < fill; z++) wide[k++] = 0;
    wide[k++] = groups[g]!;
  }
  if (gap === count) for (let z = 0; z < fill; z++) wide[k++] = 0;
  for (let w = 0; w < 4; w++) out[w] = ((wide[2 * w]! << 16) | wide[2 * w + 1]!) >>> 0;
  if (out[0] === 0 && out[1] === 0 && out[2] === 0xffff) {
    out[0] = out[3]!;
    return 4;
  }
  return 6;
}

/** Byte → decimal and hex text, looked up rather than converted: a hit's text is built per answer. */
const DEC = Array.from({ length: 256 }, (_, i) => String(i));
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function groupText(g: number): string {
  const hi = g >>> 8;
  return hi === 0 ? HEX[g]! : HEX[hi]! + HEX2[g & 255]!;
}

/** Words → canonical text (RFC 5952 as ipaddr.js prints it), only for hits. */
export function v4Text(v: number): string {
  return DEC[v >>> 24]! + '.' + DEC[(v >>> 16) & 255]! + '.' + DEC[(v >>> 8) & 255]! + '.' + DEC[v & 255]!;
}

export function v6Text(w: ArrayLike<number>, at = 0): string {
  for (let i = 0; i < 4; i++) {
    const x = w[at + i]! >>> 0;
    wide[2 * i] = x >>> 16;
    wide[2 * i + 1] = x & 0xffff;
  }
  // Longest run of zero groups (at least two) becomes "::"; the first of equal runs wins (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (wide[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && wide[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += groupText(wide[i]!);
    if (i < 7) s += ':';
  }
  return s;
}
