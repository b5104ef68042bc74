import { skipName } from './name.js';

/** Section numbers passed to a {@link RecordVisitor}. */
export const ANSWER = 0;
export const AUTHORITY = 1;
export const ADDITIONAL = 2;

/**
 * Called once per resource record. `at` is the record's first byte, `typeAt` the offset of TYPE (CLASS, TTL and
 * RDLENGTH follow at +2, +4, +8), `rdAt`/`rdLen` the RDATA, already checked to lie inside the message.
 * Return false to stop the walk as malformed.
 */
export type RecordVisitor = (section: number, at: number, typeAt: number, rdAt: number, rdLen: number) => boolean;

/** Offset just past the question section of the last {@link scanMessage}. */
export let questionsEnd = 0;

/**
 * One bounded pass over a whole message: the counts are checked against the length first (a question takes at
 * least 5 octets, a record 11), so a forged count cannot make it loop beyond the bytes there are. Returns the
 * offset after the last record, or -1 when anything runs past the end.
 */
export function scanMessage(msg: Uint8Array, visit: RecordVisitor | undefined): number {
  const len = msg.length;
  if (len < 12) return -1;
  const qd = (msg[4]! << 8) | msg[5]!;
  const an = (msg[6]! << 8) | msg[7]!;
  const ns = (msg[8]! << 8) | msg[9]!;
  const ar = (msg[10]! << 8) | msg[11]!;
  if (qd * 5 + (an + ns + ar) * 11 > len - 12) return -1;
  let off = 12;
  for (let i = 0; i < qd; i++) {
    off = skipName(msg, off);
    if (off < 0 || off + 4 > len) return -1;
    off += 4;
  }
  questionsEnd = off;
  const total = an + ns + ar;
  for (let i = 0; i < total; i++) {
    const at = off;
    off = skipName(msg, off);
    if (off < 0 || off + 10 > len) return -1;
    const rdLen = (msg[off + 8]! << 8) | msg[off + 9]!;
    const rdAt = off + 10;
    if (rdAt + rdLen > len) return -1;
    if (visit !== undefined && !visit(i < an ? ANSWER : i < an + ns ? AUTHORITY : ADDITIONAL, at, off, rdAt, rdLen)) return -1;
    off = rdAt + rdLen;
  }
  return off;
}
