import { ipv4Text, ipv6Text } from './ip-text.js';
import { nameEnd, readName } from './name.js';
import { ADDITIONAL, ANSWER, AUTHORITY, scanMessage } from './scan.js';
import { QTYPE, type AnswerFacts, type WireError } from './types.js';

const SVC_IPV4HINT = 4;
const SVC_IPV6HINT = 6;

// State of the walk in progress: the visitor is one module-level function, so a walk allocates nothing but
// its results (inspectAnswer is not re-entrant, and nothing it calls can call it back).
let msgNow: Uint8Array = new Uint8Array(0);
let addresses: string[] = [];
let targets: string[] = [];
let answerMin = Infinity;
let soaNeg = Infinity;
let optSeen = false;
let extRcode = 0;

function ttlAt(msg: Uint8Array, typeAt: number): number {
  const t = ((msg[typeAt + 4]! << 24) >>> 0) + (msg[typeAt + 5]! << 16) + (msg[typeAt + 6]! << 8) + msg[typeAt + 7]!;
  return t > 0x7fffffff ? 0 : t; // RFC 2181 §8: a TTL with the top bit set means zero
}

function visit(section: number, at: number, typeAt: number, rdAt: number, rdLen: number): boolean {
  const msg = msgNow;
  const type = (msg[typeAt]! << 8) | msg[typeAt + 1]!;
  if (section === ANSWER) {
    const ttl = ttlAt(msg, typeAt);
    if (ttl < answerMin) answerMin = ttl;
    switch (type) {
      case QTYPE.A:
        if (rdLen !== 4) return false;
        addresses.push(ipv4Text(msg, rdAt));
        return true;
      case QTYPE.AAAA:
        if (rdLen !== 16) return false;
        addresses.push(ipv6Text(msg, rdAt));
        return true;
      case QTYPE.CNAME:
      case QTYPE.DNAME: {
        const t = readName(msg, rdAt);
        // The target must fill its RDATA exactly: a name read past RDLENGTH would be taken from the next record.
        if (t === undefined || nameEnd !== rdAt + rdLen) return false;
        targets.push(t);
        return true;
      }
      case QTYPE.HTTPS:
      case QTYPE.SVCB:
        return svcHints(msg, rdAt, rdLen);
      default:
        return true;
    }
  }
  if (section === AUTHORITY) {
    if (type !== QTYPE.SOA) return true;
    // SOA RDATA: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM; the names may be compressed.
    if (readName(msg, rdAt) === undefined) return false;
    if (readName(msg, nameEnd) === undefined) return false;
    const afterR = nameEnd; // a live binding: where the name just read ends
    if (afterR + 20 !== rdAt + rdLen) return false;
    const min = ((msg[afterR + 16]! << 24) >>> 0) + (msg[afterR + 17]! << 16) + (msg[afterR + 18]! << 8) + msg[afterR + 19]!;
    const neg = Math.min(ttlAt(msg, typeAt), min > 0x7fffffff ? 0 : min);
    if (neg < soaNeg) soaNeg = neg;
    return true;
  }
  if (section === ADDITIONAL && type === QTYPE.OPT) {
    if (optSeen || msg[at] !== 0 || typeAt !== at + 1) return false;
    optSeen = true;
    extRcode = msg[typeAt + 4]!;
  }
  return true;
}

/** SVCB/HTTPS RDATA (RFC 9460): priority, target name (never compressed), then key/length/value params. */
function svcHints(msg: Uint8Array, rdAt: number, rdLen: number): boolean {
  const end = rdAt + rdLen;
  if (rdLen < 3) return false;
  let off = rdAt + 2;
  // The target must be uncompressed and inside the RDATA: walk its labels by hand.
  for (;;) {
    if (off >= end) return false;
    const l = msg[off]!;
    if (l === 0) {
      off++;
      break;
    }
    if (l >= 0x40) return false;
    off += l + 1;
  }
  while (off < end) {
    if (off + 4 > end) return false;
    const key = (msg[off]! << 8) | msg[off + 1]!;
    const vlen = (msg[off + 2]! << 8) | msg[off + 3]!;
    off += 4;
    if (off + vlen > end) return false;
    if (key === SVC_IPV4HINT) {
      if (vlen === 0 || vlen % 4 !== 0) return false;
      for (let p = off; p < off + vlen; p += 4) addresses.push(ipv4Text(msg, p));
    } else if (key === SVC_IPV6HINT) {
      if (vlen === 0 || vlen % 16 !== 0) return false;
      for (let p = off; p < off + vlen; p += 16) addresses.push(ipv6Text(msg, p));
    }
    off += vlen;
  }
  return true;
}

/**
 * One safe walk of an upstream reply: never throws, never loops (see scanMessage and readName), and any
 * record it has to read (A/AAAA length, CNAME/DNAME/SOA names, SVCB params) must be well-formed or the whole
 * reply is a `formerr` (the resolver answers SERVFAIL rather than pass on what it could not check).
 */
export function inspectAnswer(msg: Uint8Array): AnswerFacts | WireError {
  if (msg.length < 12) return { kind: 'drop' };
  const id = (msg[0]! << 8) | msg[1]!;
  if ((msg[2]! & 0x80) === 0) return { kind: 'formerr', id };
  msgNow = msg;
  addresses = [];
  targets = [];
  answerMin = Infinity;
  soaNeg = Infinity;
  optSeen = false;
  extRcode = 0;
  const end = scanMessage(msg, visit);
  msgNow = EMPTY;
  if (end < 0) return { kind: 'formerr', id };
  const rcode = (extRcode << 4) | (msg[3]! & 0x0f);
  const answerCount = (msg[6]! << 8) | msg[7]!;
  const negative = rcode === 3 || (rcode === 0 && answerCount === 0);
  const hasSoa = soaNeg !== Infinity;
  let minTtl: number;
  if (negative) minTtl = hasSoa ? Math.min(soaNeg, answerMin) : 0;
  else minTtl = answerMin === Infinity ? 0 : answerMin;
  return { rcode, truncated: (msg[2]! & 0x02) !== 0, minTtl, addresses, cnameTargets: targets, answerCount, negative, hasSoa };
}

const EMPTY = new Uint8Array(0);
