import ipaddr from 'ipaddr.js';
import { encodeName } from './name.js';
import { ADDITIONAL, scanMessage, questionsEnd } from './scan.js';
import { OUR_UDP_SIZE, QTYPE, RCODE, type EdeOption, type Query, type WireError } from './types.js';

/** Builders for the replies we make ourselves: exact-size buffers, the client's question bytes echoed as sent
 *  (0x20 case intact), and an OPT only when the client sent one (RFC 6891 §7). */

const EDE_OPTION = 15;
const MAX_EDE_TEXT = 200;
const OPT_FIXED = 11;

/** Flags byte 1 of a reply: QR, opcode QUERY, the client's RD (AA when we are the authority). */
function flags1(msg: Uint8Array, aa: boolean): number {
  return 0x80 | (aa ? 0x04 : 0) | (msg.length > 2 ? msg[2]! & 0x01 : 0);
}

/** Flags byte 2: RA, the client's CD (RFC 4035 §3.2.2 copies it), the low RCODE bits. */
function flags2(q: { cd?: boolean }, rcode: number): number {
  return 0x80 | (q.cd === true ? 0x10 : 0) | (rcode & 0x0f);
}

function header(b: Buffer, id: number, f1: number, f2: number, qd: number, an: number, ns: number, ar: number): void {
  b[0] = id >>> 8;
  b[1] = id & 0xff;
  b[2] = f1;
  b[3] = f2;
  b.writeUInt16BE(qd, 4);
  b.writeUInt16BE(an, 6);
  b.writeUInt16BE(ns, 8);
  b.writeUInt16BE(ar, 10);
}

function edeBytes(ede: EdeOption | undefined): Buffer | undefined {
  if (ede === undefined) return undefined;
  let text = Buffer.from(ede.text, 'utf8');
  if (text.length > MAX_EDE_TEXT) {
    let cut = MAX_EDE_TEXT;
    while (cut > 0 && (text[cut]! & 0xc0) === 0x80) cut--; // never split a UTF-8 sequence
    text = text.subarray(0, cut);
  }
  const b = Buffer.allocUnsafe(6 + text.length);
  b.writeUInt16BE(EDE_OPTION, 0);
  b.writeUInt16BE(2 + text.length, 2);
  b.writeUInt16BE(ede.code & 0xffff, 4);
  text.copy(b, 6);
  return b;
}

function optSize(ede: Buffer | undefined): number {
  return OPT_FIXED + (ede === undefined ? 0 : ede.length);
}

/** Our OPT record: our UDP size, the extended RCODE bits, version 0, the client's DO bit echoed (RFC 3225). */
function writeOpt(b: Buffer, off: number, dnssecOk: boolean, rcode: number, ede: Buffer | undefined): number {
  b[off] = 0;
  b.writeUInt16BE(QTYPE.OPT, off + 1);
  b.writeUInt16BE(OUR_UDP_SIZE, off + 3);
  b[off + 5] = (rcode >>> 4) & 0xff;
  b[off + 6] = 0;
  b[off + 7] = dnssecOk ? 0x80 : 0;
  b[off + 8] = 0;
  const rdlen = ede === undefined ? 0 : ede.length;
  b.writeUInt16BE(rdlen, off + 9);
  if (ede !== undefined) ede.copy(b, off + 11);
  return off + OPT_FIXED + rdlen;
}

/** Fixed part of a record whose owner is the question name (a pointer to offset 12). */
function rrHead(b: Buffer, off: number, type: number, qclass: number, ttl: number, rdlen: number): number {
  b[off] = 0xc0;
  b[off + 1] = 12;
  b.writeUInt16BE(type, off + 2);
  b.writeUInt16BE(qclass, off + 4);
  b.writeUInt32BE(clampTtl(ttl), off + 6);
  b.writeUInt16BE(rdlen, off + 10);
  return off + 12;
}

function clampTtl(ttl: number): number {
  return ttl > 0x7fffffff ? 0x7fffffff : ttl > 0 ? Math.floor(ttl) : 0;
}

// SOA RDATA of our negative answers: MNAME gatehouse.invalid. (RFC 6761: never a real name), RNAME
// hostmaster.<MNAME> by pointer, SERIAL 1, REFRESH 1800, RETRY 900, EXPIRE 604800, MINIMUM filled in per reply.
const SOA_MNAME = Buffer.from('\x09gatehouse\x07invalid\x00', 'latin1');
const SOA_RNAME_LABEL = Buffer.from('\x0ahostmaster', 'latin1');
const SOA_RR = 12 + SOA_MNAME.length + SOA_RNAME_LABEL.length + 2 + 20;

function writeSoa(b: Buffer, off: number, qclass: number, ttl: number): number {
  off = rrHead(b, off, QTYPE.SOA, qclass, ttl, SOA_RR - 12);
  const mnameAt = off;
  off += SOA_MNAME.copy(b, off);
  off += SOA_RNAME_LABEL.copy(b, off);
  b[off++] = 0xc0 | (mnameAt >>> 8);
  b[off++] = mnameAt & 0xff;
  b.writeUInt32BE(1, off);
  b.writeUInt32BE(1800, off + 4);
  b.writeUInt32BE(900, off + 8);
  b.writeUInt32BE(604800, off + 12);
  b.writeUInt32BE(clampTtl(ttl), off + 16);
  return off + 20;
}

/**
 * The answer for a blocked name. `nxdomain`: NXDOMAIN with our SOA (TTL and MINIMUM = `ttl`, so downstream
 * caches keep the negative answer only that long, RFC 2308). `null_ip`: A 0.0.0.0 / AAAA :: for those types, and
 * NODATA with the same SOA for any other type. With EDNS, an Extended DNS Error (RFC 8914) says why.
 */
export function blockedReply(q: Query, msg: Uint8Array, how: 'nxdomain' | 'null_ip', ede: EdeOption, ttl: number): Buffer {
  const qlen = q.questionEnd - 12;
  const edns = q.ednsUdpSize !== undefined;
  const e = edns ? edeBytes(ede) : undefined;
  let an = 0;
  let answerLen = 0;
  if (how === 'null_ip' && q.qtype === QTYPE.A) (an = 1), (answerLen = 16);
  else if (how === 'null_ip' && q.qtype === QTYPE.AAAA) (an = 1), (answerLen = 28);
  const ns = an === 0 ? 1 : 0;
  const rcode = how === 'nxdomain' ? RCODE.NXDOMAIN : RCODE.NOERROR;
  const b = Buffer.allocUnsafe(12 + qlen + answerLen + ns * SOA_RR + (edns ? optSize(e) : 0));
  header(b, q.id, flags1(msg, false), flags2(q, rcode), 1, an, ns, edns ? 1 : 0);
  let off = 12 + copyQuestion(b, msg, q);
  if (an === 1) {
    const rdlen = answerLen - 12;
    off = rrHead(b, off, q.qtype, q.qclass, ttl, rdlen);
    b.fill(0, off, off + rdlen);
    off += rdlen;
  } else off = writeSoa(b, off, q.qclass, ttl);
  if (edns) writeOpt(b, off, q.dnssecOk, rcode, e);
  return b;
}

function copyQuestion(b: Buffer, msg: Uint8Array, q: Query): number {
  const qlen = q.questionEnd - 12;
  b.set(msg.subarray(12, q.questionEnd), 12);
  return qlen;
}

export type ErrorRcode = 'SERVFAIL' | 'FORMERR' | 'REFUSED' | 'NXDOMAIN' | 'NOTIMP';

/**
 * An error answer. Given a parsed Query it echoes the question and (with EDNS) carries `ede`; given only an ID
 * (a message we could not parse) it is the bare header, RD copied.
 */
export function errorReply(q: Query | { id: number }, msg: Uint8Array, rcode: ErrorRcode, ede?: EdeOption): Buffer {
  const code = RCODE[rcode];
  if (!('questionEnd' in q)) {
    const b = Buffer.allocUnsafe(12);
    header(b, q.id, flags1(msg, false), flags2({}, code), 0, 0, 0, 0);
    return b;
  }
  const edns = q.ednsUdpSize !== undefined;
  const e = edns ? edeBytes(ede) : undefined;
  const b = Buffer.allocUnsafe(q.questionEnd + (edns ? optSize(e) : 0));
  header(b, q.id, flags1(msg, false), flags2(q, code), 1, 0, 0, edns ? 1 : 0);
  const off = 12 + copyQuestion(b, msg, q);
  if (edns) writeOpt(b, off, q.dnssecOk, code, e);
  return b;
}

/**
 * The answer to a message {@link parseQuery} refused; undefined = send nothing. BADVERS carries an OPT (the
 * only place its upper RCODE bits fit, RFC 6891 §6.1.3); the others are the bare header.
 */
export function wireErrorReply(err: WireError, msg: Uint8Array): Buffer | undefined {
  if (err.kind === 'drop') return undefined;
  const rcode = err.rcode ?? RCODE.FORMERR;
  const opt = rcode > 15;
  const b = Buffer.allocUnsafe(12 + (opt ? OPT_FIXED : 0));
  header(b, err.id, flags1(msg, false), flags2({}, rcode), 0, 0, 0, opt ? 1 : 0);
  if (opt) writeOpt(b, 12, false, rcode, undefined);
  return b;
}

export interface LocalAnswer {
  type: 'A' | 'AAAA' | 'PTR';
  /** An IPv4/IPv6 address for A/AAAA, a domain name for PTR. */
  data: string;
  ttl: number;
}

/**
 * An authoritative answer for our own names (LAN devices, their PTR). Entries whose data does not fit their
 * type are left out rather than thrown on: the caller's table is data, and the resolver must keep answering.
 */
export function localReply(q: Query, msg: Uint8Array, answers: readonly LocalAnswer[]): Buffer {
  const rdatas: { type: number; rd: Uint8Array; ttl: number }[] = [];
  for (const a of answers) {
    const rd = localRdata(a);
    if (rd !== undefined) rdatas.push({ type: QTYPE[a.type], rd, ttl: a.ttl });
  }
  const edns = q.ednsUdpSize !== undefined;
  let size = q.questionEnd + (edns ? OPT_FIXED : 0);
  for (const r of rdatas) size += 12 + r.rd.length;
  const b = Buffer.allocUnsafe(size);
  header(b, q.id, flags1(msg, true), flags2(q, RCODE.NOERROR), 1, rdatas.length, 0, edns ? 1 : 0);
  let off = 12 + copyQuestion(b, msg, q);
  for (const r of rdatas) {
    off = rrHead(b, off, r.type, q.qclass, r.ttl, r.rd.length);
    b.set(r.rd, off);
    off += r.rd.length;
  }
  if (edns) writeOpt(b, off, q.dnssecOk, RCODE.NOERROR, undefined);
  return b;
}

function localRdata(a: LocalAnswer): Uint8Array | undefined {
  if (a.type === 'PTR') return encodeName(a.data);
  if (a.type === 'A' && ipaddr.IPv4.isValidFourPartDecimal(a.data)) return Uint8Array.from(ipaddr.IPv4.parse(a.data).toByteArray());
  if (a.type === 'AAAA' && ipaddr.IPv6.isValid(a.data)) return Uint8Array.from(ipaddr.IPv6.parse(a.data).toByteArray());
  return undefined;
}

/** A copy of `msg` with another message ID (upstream replies and cached answers go back under the client's ID). */
export function withId(msg: Uint8Array, id: number): Buffer {
  const b = Buffer.allocUnsafe(msg.length);
  b.set(msg);
  if (b.length >= 2) {
    b[0] = (id >>> 8) & 0xff;
    b[1] = id & 0xff;
  }
  return b;
}

/**
 * A reply that fits the client's UDP limit (512 without EDNS, its advertised size with, RFC 6891 §7): unchanged
 * when it fits, else the header with TC=1, the question, and the OPT record if there was one, so the client asks
 * again over TCP. A message too broken to walk becomes the bare header with TC=1.
 */
export function fitUdp(msg: Uint8Array, maxSize: number): Buffer {
  const max = Math.max(512, Math.min(65535, maxSize | 0));
  const whole = Buffer.isBuffer(msg) ? msg : Buffer.from(msg.buffer, msg.byteOffset, msg.length);
  if (msg.length <= max) return whole;
  if (msg.length < 12) return Buffer.from(whole);
  optAt = -1;
  optEnd = -1;
  fitting = msg;
  const end = scanMessage(msg, findOpt);
  fitting = EMPTY;
  const qd = end < 0 ? 0 : (msg[4]! << 8) | msg[5]!;
  const qEnd = end < 0 ? 12 : questionsEnd;
  const optLen = end < 0 || optAt < 0 ? 0 : optEnd - optAt;
  const b = Buffer.allocUnsafe(qEnd + optLen);
  b.set(msg.subarray(0, qEnd));
  b[2] = msg[2]! | 0x02;
  b.writeUInt16BE(qd, 4);
  b.writeUInt32BE(0, 6);
  b.writeUInt16BE(optLen > 0 ? 1 : 0, 10);
  if (optLen > 0) b.set(msg.subarray(optAt, optEnd), qEnd);
  return b;
}

let optAt = -1;
let optEnd = -1;
let fitting: Uint8Array = new Uint8Array(0);
function findOpt(section: number, at: number, typeAt: number, rdAt: number, rdLen: number): boolean {
  const m = fitting;
  // typeAt === at + 1: a one-byte owner, the root, as an OPT's must be.
  if (section === ADDITIONAL && optAt < 0 && typeAt === at + 1 && m[typeAt] === 0 && m[typeAt + 1] === QTYPE.OPT) {
    optAt = at;
    optEnd = rdAt + rdLen;
  }
  return true;
}

const EMPTY = new Uint8Array(0);
