/** Address text straight from answer bytes, in the canonical form the IP index and the query log use. */

export function ipv4Text(msg: Uint8Array, off: number): string {
  return `${msg[off]}.${msg[off + 1]}.${msg[off + 2]}.${msg[off + 3]}`;
}

/** RFC 5952 text (longest run of two or more zero groups as `::`, first on a tie; lower-case hex) — what
 *  ipaddr.js `toString()` prints, IPv4-mapped addresses included (`::ffff:a00:1`). */
export function ipv6Text(msg: Uint8Array, off: number): string {
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    const zero = msg[off + 2 * g] === 0 && msg[off + 2 * g + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
      if (g - runStart + 1 > bestLen) {
        bestLen = g - runStart + 1;
        bestStart = runStart;
      }
    } else runStart = -1;
  }
  let s = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      s += g === 0 ? '::' : ':';
      g += bestLen - 1;
      continue;
    }
    s += ((msg[off + 2 * g]! << 8) | msg[off + 2 * g + 1]!).toString(16);
    if (g < 7) s += ':';
  }
  return s;
}
