import { encodeName, nameEnd, readPlainName, skipName } from './name.js';
import { OUR_UDP_SIZE, QTYPE, RCODE, type Query, type WireError } from './types.js';

/** More than this many additional records in a query is not a stub resolver talking (OPT, maybe TSIG/SIG(0)). */
const MAX_QUERY_ADDITIONAL = 4;

const DROP: WireError = Object.freeze({ kind: 'drop' }) as WireError;

/**
 * Reads a client's question from the raw datagram: one allocation (the name string) on the good path.
 * What unbound does with the same input decides the borderline cases: shorter than a header or a response
 * (QR=1) → drop; opcode other than QUERY → NOTIMP; QDCOUNT ≠ 1, answers or authority records in a query,
 * a compression pointer in the question, a label over 63 or a name over 255 octets, a cut-off record, two OPT
 * records, an OPT not owned by the root → FORMERR; EDNS version ≠ 0 → BADVERS (RFC 6891 §6.1.3).
 */
export function parseQuery(msg: Uint8Array): Query | WireError {
  const len = msg.length;
  if (len < 12) return DROP;
  const id = (msg[0]! << 8) | msg[1]!;
  const f1 = msg[2]!;
  if (f1 & 0x80) return DROP;
  if ((f1 & 0x78) !== 0) return { kind: 'formerr', id, rcode: RCODE.NOTIMP };
  const qd = (msg[4]! << 8) | msg[5]!;
  const an = (msg[6]! << 8) | msg[7]!;
  const ns = (msg[8]! << 8) | msg[9]!;
  const ar = (msg[10]! << 8) | msg[11]!;
  if (qd !== 1 || an !== 0 || ns !== 0 || ar > MAX_QUERY_ADDITIONAL) return { kind: 'formerr', id };
  const name = readPlainName(msg, 12);
  if (name === undefined) return { kind: 'formerr', id };
  let off = nameEnd;
  if (off + 4 > len) return { kind: 'formerr', id };
  const qtype = (msg[off]! << 8) | msg[off + 1]!;
  const qclass = (msg[off + 2]! << 8) | msg[off + 3]!;
  off += 4;
  const questionEnd = off;
  let ednsUdpSize: number | undefined;
  let dnssecOk = false;
  for (let i = 0; i < ar; i++) {
    const nameStart = off;
    off = skipName(msg, off);
    if (off < 0 || off + 10 > len) return { kind: 'formerr', id };
    const type = (msg[off]! << 8) | msg[off + 1]!;
    const rdlen = (msg[off + 8]! << 8) | msg[off + 9]!;
    if (off + 10 + rdlen > len) return { kind: 'formerr', id };
    if (type === QTYPE.OPT) {
      if (ednsUdpSize !== undefined || off !== nameStart + 1 || msg[nameStart] !== 0) return { kind: 'formerr', id };
      const size = (msg[off + 2]! << 8) | msg[off + 3]!;
      // RFC 6891 §6.2.5: values below 512 are treated as 512.
      ednsUdpSize = size < 512 ? 512 : size;
      if (msg[off + 5] !== 0) return { kind: 'formerr', id, rcode: RCODE.BADVERS };
      dnssecOk = (msg[off + 6]! & 0x80) !== 0;
    }
    off += 10 + rdlen;
  }
  const f2 = msg[3]!;
  return { id, name, qtype, qclass, rd: (f1 & 1) !== 0, cd: (f2 & 0x10) !== 0, ednsUdpSize, dnssecOk, questionEnd };
}

/**
 * A query message for `q` under `id` (RD set, CD as in `q`; with an OPT of our UDP size and q's DO bit when
 * `q.ednsUdpSize` is set) — how the resolver asks upstream for a name the cache wants to prefetch. Undefined
 * when q.name cannot be written as a wire name.
 */
export function buildQuery(q: Pick<Query, 'name' | 'qtype' | 'qclass' | 'cd' | 'ednsUdpSize' | 'dnssecOk'>, id: number): Buffer | undefined {
  const name = encodeName(q.name);
  if (name === undefined) return undefined;
  const edns = q.ednsUdpSize !== undefined;
  const b = Buffer.alloc(12 + name.length + 4 + (edns ? 11 : 0));
  b.writeUInt16BE(id & 0xffff, 0);
  b[2] = 0x01;
  b[3] = q.cd ? 0x10 : 0;
  b.writeUInt16BE(1, 4);
  b.writeUInt16BE(edns ? 1 : 0, 10);
  b.set(name, 12);
  let off = 12 + name.length;
  b.writeUInt16BE(q.qtype, off);
  b.writeUInt16BE(q.qclass, off + 2);
  off += 4;
  if (edns) {
    b.writeUInt16BE(QTYPE.OPT, off + 1);
    b.writeUInt16BE(OUR_UDP_SIZE, off + 3);
    b[off + 7] = q.dnssecOk ? 0x80 : 0;
  }
  return b;
}
