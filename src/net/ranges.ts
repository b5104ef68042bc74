/** An inclusive address range as big-endian bytes (4 for IPv4, 16 for IPv6); one family per call below. */
export interface ByteRange {
  readonly start: Buffer;
  readonly end: Buffer;
}

/** A merged range and the indexes (into the input order) of the ranges it absorbed. */
export interface MergedRange {
  start: Buffer;
  end: Buffer;
  readonly members: number[];
}

/** Adds one to a big-endian address; undefined on overflow (the range ends at the last address). */
function increment(b: Buffer): Buffer | undefined {
  const out = Buffer.from(b);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i] = out[i]! + 1;
      return out;
    }
    out[i] = 0;
  }
  return undefined;
}

/**
 * Merges overlapping and adjacent ranges of one family, in address order; the input is left as it is.
 * Both the kernel's interval sets (which refuse overlaps, while feeds overlap all the time: a /16 and a
 * /24 inside it) and the mirror's aggregated lists need only the union.
 */
export function mergeRanges(ranges: Iterable<ByteRange>): MergedRange[] {
  const sorted = [...ranges].map((r, i) => ({ r, i })).sort((a, b) => a.r.start.compare(b.r.start));
  const out: MergedRange[] = [];
  for (const { r, i } of sorted) {
    const last = out[out.length - 1];
    if (last) {
      const next = increment(last.end);
      if (next === undefined || r.start.compare(next) <= 0) {
        if (r.end.compare(last.end) > 0) last.end = r.end;
        last.members.push(i);
        continue;
      }
    }
    out.push({ start: r.start, end: r.end, members: [i] });
  }
  return out;
}
