/**
 * The few header/question facts the upstream transports need, read straight from the bytes (hot path:
 * no decoding into objects). Questions in queries and their answers are never compressed (the first name of a
 * message has nothing before it to point to), so "same question" is a byte comparison with ASCII case folding.
 */
import { randomFillSync } from 'node:crypto';

export const RCODE_SERVFAIL = 2;
export const RCODE_REFUSED = 5;

/** Offset just after the (single) question, or -1 when the message has no well-formed single question. */
export function questionEnd(msg: Uint8Array): number {
  if (msg.length < 17 || msg[4] !== 0 || msg[5] !== 1) return -1;
  let i = 12;
  for (let hops = 0; hops < 128; hops++) {
    const len = msg[i];
    if (len === undefined) return -1;
    if (len === 0) return i + 5 <= msg.length ? i + 5 : -1;
    if (len > 63) return -1; // a pointer or reserved label type: not in a query's question
    i += len + 1;
  }
  return -1;
}

/** True when `reply` carries the question bytes query[12, qEnd) (case-insensitively) and is a response. */
export function answersQuestion(query: Uint8Array, qEnd: number, reply: Uint8Array): boolean {
  if (reply.length < qEnd || reply[4] !== 0 || reply[5] !== 1) return false;
  if ((reply[2]! & 0x80) === 0) return false; // QR=0: a query, not an answer
  for (let i = 12; i < qEnd; i++) {
    let a = query[i]!;
    let b = reply[i]!;
    if (a !== b) {
      if (a >= 0x41 && a <= 0x5a) a |= 0x20;
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      if (a !== b) return false;
    }
  }
  return true;
}

export function readId(msg: Uint8Array): number {
  return (msg[0]! << 8) | msg[1]!;
}

export function writeId(msg: Uint8Array, id: number): void {
  msg[0] = id >>> 8;
  msg[1] = id & 0xff;
}

export function isTruncated(reply: Uint8Array): boolean {
  return (reply[2]! & 0x02) !== 0;
}

export function rcodeOf(reply: Uint8Array): number {
  return reply[3]! & 0x0f;
}

/** Unpredictable 16-bit IDs, drawn from a buffer refilled by the CSPRNG (one syscall per 4096 IDs). */
const idPool = new Uint16Array(4096);
let idNext = idPool.length;
export function randomId(): number {
  if (idNext === idPool.length) {
    randomFillSync(idPool);
    idNext = 0;
  }
  return idPool[idNext++]!;
}

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'network' | 'protocol' | 'closed',
  ) {
    super(message);
  }
}
