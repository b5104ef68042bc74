import type { Target } from '../net/ip.js';
import { V4Target } from '../net/fast-target.js';
import type { TargetList } from './target-list.js';

/** Each octet's position among the 256 decimal texts in string order ("0" < "1" < "10" < "100" < … < "99"). */
const OCTET_RANK: Uint8Array = (() => {
  const texts = Array.from({ length: 256 }, (_, i) => String(i)).sort();
  const rank = new Uint8Array(256);
  texts.forEach((t, pos) => (rank[Number(t)] = pos));
  return rank;
})();

/**
 * The entries in the order of their texts, as far as a B-tree keyed on the text cares: IPv4 by the string
 * order of their dotted texts ('.' sorts before every digit, so octet by octet), anything else after them
 * in list order. The store's value index then takes a feed's additions as one sweep instead of a million
 * random inserts: measured at 1M on this machine kind, 9.4 s instead of 11.9 s, and a WAL of 96 MB
 * instead of 401 MB. O(n): a two-pass radix sort of 32-bit keys; targets are built as they are pulled.
 */
export function* inTextOrder(list: TargetList): Generator<Target> {
  const n = list.v4Count;
  const keys = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const s = list.v4Start(i);
    keys[i] = ((OCTET_RANK[s >>> 24]! << 24) | (OCTET_RANK[(s >>> 16) & 255]! << 16) | (OCTET_RANK[(s >>> 8) & 255]! << 8) | OCTET_RANK[s & 255]!) >>> 0;
  }
  const order = radixOrder(keys);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    yield new V4Target(list.v4Start(i), list.v4Prefix(i));
  }
  yield* list.others;
}

/** Positions of `keys` in ascending order; stable, so equal keys (a host and its /prefix) keep list order. */
function radixOrder(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  let from = new Uint32Array(n);
  let to = new Uint32Array(n);
  for (let i = 0; i < n; i++) from[i] = i;
  for (const shift of [0, 16]) {
    const counts = new Uint32Array(65537);
    for (let i = 0; i < n; i++) counts[((keys[i]! >>> shift) & 0xffff) + 1]!++;
    for (let d = 0; d < 65536; d++) counts[d + 1]! += counts[d]!;
    for (let i = 0; i < n; i++) {
      const p = from[i]!;
      to[counts[(keys[p]! >>> shift) & 0xffff]!++] = p;
    }
    [from, to] = [to, from];
  }
  return from;
}
