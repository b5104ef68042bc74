import { ADDITIONAL, scanMessage } from './scan.js';
import { QTYPE, type WireError } from './types.js';

/** A reply as the cache keeps it: without its OPT record (the querier gets its own, see appendOpt) and with
 *  the offsets of every TTL field, so serving it patches TTLs without walking the message again. */
export interface CacheForm {
  data: Buffer;
  /** Offset of each record's TTL field in `data`. */
  ttlOffsets: Uint32Array;
  /** The TTLs as they were (top-bit values read as 0, RFC 2181 §8). */
  ttls: Uint32Array;
}

let walking: Uint8Array = new Uint8Array(0);
let offsets: number[] = [];
let optFrom = -1;
let optTo = -1;
let optCount = 0;

function collect(section: number, at: number, typeAt: number, rdAt: number, rdLen: number): boolean {
  const m = walking;
  if (section === ADDITIONAL && m[typeAt] === 0 && m[typeAt + 1] === QTYPE.OPT) {
    // The OPT's TTL field holds the extended RCODE, version and DO flag: never a TTL to count down.
    optCount++;
    optFrom = at;
    optTo = rdAt + rdLen;
    return optCount === 1;
  }
  offsets.push(typeAt + 4);
  return true;
}

/** The cache's copy of `reply`; an error when the message cannot be walked or holds two OPT records. */
export function cacheForm(reply: Uint8Array): CacheForm | WireError {
  if (reply.length < 12) return { kind: 'drop' };
  walking = reply;
  offsets = [];
  optFrom = -1;
  optTo = -1;
  optCount = 0;
  const end = scanMessage(reply, collect);
  walking = EMPTY;
  if (end < 0) return { kind: 'formerr', id: (reply[0]! << 8) | reply[1]! };
  // Bytes after the last record (padding, junk) are not kept.
  let data: Buffer;
  if (optFrom < 0) data = Buffer.from(reply.subarray(0, end));
  else {
    const cut = optTo - optFrom;
    data = Buffer.allocUnsafe(end - cut);
    data.set(reply.subarray(0, optFrom));
    data.set(reply.subarray(optTo, end), optFrom);
    data.writeUInt16BE(((reply[10]! << 8) | reply[11]!) - 1, 10);
    for (let i = 0; i < offsets.length; i++) if (offsets[i]! > optFrom) offsets[i]! -= cut;
  }
  const ttlOffsets = Uint32Array.from(offsets);
  const ttls = new Uint32Array(ttlOffsets.length);
  for (let i = 0; i < ttlOffsets.length; i++) {
    const t = data.readUInt32BE(ttlOffsets[i]!);
    ttls[i] = t > 0x7fffffff ? 0 : t;
  }
  return { data, ttlOffsets, ttls };
}

let elapsedNow = 0;
let adjusting: Buffer = Buffer.alloc(0);
function decrement(section: number, at: number, typeAt: number): boolean {
  const m = adjusting;
  if (section === ADDITIONAL && m[typeAt] === 0 && m[typeAt + 1] === QTYPE.OPT) return true;
  const t = m.readUInt32BE(typeAt + 4);
  const left = (t > 0x7fffffff ? 0 : t) - elapsedNow;
  m.writeUInt32BE(left > 0 ? left : 0, typeAt + 4);
  return true;
}

/**
 * Counts every TTL in `msg` down by `elapsedSec` in place, never below 0, leaving the OPT record alone.
 * Returns false when the message cannot be walked (records before the bad one are already counted down).
 */
export function adjustTtl(msg: Buffer, elapsedSec: number): boolean {
  adjusting = msg;
  elapsedNow = Math.max(0, Math.floor(elapsedSec));
  const end = scanMessage(msg, decrement);
  adjusting = EMPTY_BUF;
  return end >= 0;
}

const EMPTY = new Uint8Array(0);
const EMPTY_BUF = Buffer.alloc(0);
