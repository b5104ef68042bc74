/**
 * Orders items by the first `width` characters of their text (byte order, as SQLite's BINARY collation
 * compares ASCII), keeping input order among equal prefixes. An LSD radix sort: a 50k-row batch sorts in
 * ~20 ms here, where a string comparator took ~120 ms.
 *
 * Why: a bulk insert in this order lands consecutive rows on the same pages of the (value, …) index instead
 * of random ones, which made a million-row import a third cheaper in SQLite. Only locality matters, so
 * eight characters are enough ("185.220." is already a /16); the stable order keeps "the last line of a
 * value wins" true for duplicates.
 */
export function byTextPrefix<T>(items: readonly T[], text: (item: T) => string, width = 8): T[] {
  const n = items.length;
  const keys = new Uint8Array(n * width);
  for (let i = 0; i < n; i++) {
    const v = text(items[i]!);
    const len = Math.min(width, v.length);
    for (let j = 0; j < len; j++) keys[i * width + j] = v.charCodeAt(j) & 0xff;
  }
  let order = new Uint32Array(n);
  let next = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const count = new Uint32Array(257);
  for (let j = width - 1; j >= 0; j--) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[keys[order[i]! * width + j]! + 1]!++;
    for (let b = 1; b < 257; b++) count[b]! += count[b - 1]!;
    for (let i = 0; i < n; i++) {
      const r = order[i]!;
      next[count[keys[r * width + j]!]!++] = r;
    }
    [order, next] = [next, order];
  }
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = items[order[i]!]!;
  return out;
}
