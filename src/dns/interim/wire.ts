/*
 * INTERIM stand-in for H1's src/dns/wire (same signatures as DNS-DESIGN.md), so the runtime resolves
 * before the real codec lands. Replaced through src/dns/parts.ts.
 */
export interface Query {
  id: number;
  name: string;
  qtype: number;
  qclass: number;
  rd: boolean;
  cd: boolean;
  ednsUdpSize?: number;
  dnssecOk: boolean;
  questionEnd: number;
}
export type WireError = { kind: 'drop' } | { kind: 'formerr'; id: number };
export interface AnswerFacts {
  rcode: number;
  truncated: boolean;
  minTtl: number;
  addresses: string[];
  cnameTargets: string[];
  answerCount: number;
}

export function isWireError(x: unknown): x is WireError {
  return typeof x === 'object' && x !== null && 'kind' in x;
}

/** Reads a (possibly compressed) name at `off`; returns the name and the offset after it in place. */
function readName(m: Uint8Array, off: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let end = -1;
  let jumps = 0;
  let p = off;
  for (;;) {
    if (p >= m.length) return undefined;
    const len = m[p]!;
    if (len === 0) {
      if (end < 0) end = p + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= m.length || ++jumps > 32) return undefined;
      if (end < 0) end = p + 2;
      p = ((len & 0x3f) << 8) | m[p + 1]!;
      continue;
    }
    if (len > 63 || p + 1 + len > m.length) return undefined;
    let s = '';
    for (let i = p + 1; i <= p + len; i++) s += String.fromCharCode(m[i]!);
    labels.push(s.toLowerCase());
    p += 1 + len;
    if (labels.length > 127) return undefined;
  }
  return { name: labels.join('.'), end };
}

const u16 = (m: Uint8Array, o: number) => (m[o]! << 8) | m[o + 1]!;
const u32 = (m: Uint8Array, o: number) => ((m[o]! << 24) >>> 0) + (m[o + 1]! << 16) + (m[o + 2]! << 8) + m[o + 3]!;

export function parseQuery(msg: Uint8Array): Query | WireError {
  if (msg.length < 12) return { kind: 'drop' };
  const id = u16(msg, 0);
  const flags = u16(msg, 2);
  if (flags & 0x8000) return { kind: 'drop' }; // a response: never answer it (reflection loops)
  if (((flags >> 11) & 0xf) !== 0 || u16(msg, 4) !== 1) return { kind: 'formerr', id };
  const q = readName(msg, 12);
  if (!q || q.end + 4 > msg.length) return { kind: 'formerr', id };
  const questionEnd = q.end + 4;
  const query: Query = { id, name: q.name, qtype: u16(msg, q.end), qclass: u16(msg, q.end + 2), rd: (flags & 0x100) !== 0, cd: (flags & 0x10) !== 0, dnssecOk: false, questionEnd };
  let p = questionEnd;
  const rrs = u16(msg, 6) + u16(msg, 8) + u16(msg, 10);
  for (let i = 0; i < rrs; i++) {
    const n = readName(msg, p);
    if (!n || n.end + 10 > msg.length) return { kind: 'formerr', id };
    const type = u16(msg, n.end);
    const rdlen = u16(msg, n.end + 8);
    if (type === 41) {
      query.ednsUdpSize = Math.max(512, u16(msg, n.end + 2));
      query.dnssecOk = (u16(msg, n.end + 6) & 0x8000) !== 0;
    }
    p = n.end + 10 + rdlen;
    if (p > msg.length) return { kind: 'formerr', id };
  }
  return query;
}

const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

function opt(ede?: { code: number; text: string }): Buffer {
  const text = ede ? Buffer.from(ede.text, 'utf8').subarray(0, 200) : Buffer.alloc(0);
  const rdata = ede ? Buffer.alloc(6 + text.length) : Buffer.alloc(0);
  if (ede) {
    rdata.writeUInt16BE(15, 0);
    rdata.writeUInt16BE(2 + text.length, 2);
    rdata.writeUInt16BE(ede.code, 4);
    text.copy(rdata, 6);
  }
  const b = Buffer.alloc(11);
  b[0] = 0;
  b.writeUInt16BE(41, 1);
  b.writeUInt16BE(1232, 3);
  b.writeUInt32BE(0, 5);
  b.writeUInt16BE(rdata.length, 9);
  return Buffer.concat([b, rdata]);
}

function header(q: { id: number; rd?: boolean }, rcode: number, an: number, ar: number, qd: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(q.id, 0);
  h.writeUInt16BE(0x8000 | (q.rd ? 0x100 : 0) | 0x80 | rcode, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ar, 10);
  return h;
}

function rr(type: number, ttl: number, rdata: Buffer): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0xc00c, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt16BE(1, 4);
  b.writeUInt32BE(Math.max(0, Math.floor(ttl)), 6);
  b.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([b, rdata]);
}

function ipBytes(ip: string): Buffer {
  if (ip.includes(':')) {
    const [head = '', tail = ''] = ip.split('::');
    const h = head ? head.split(':') : [];
    const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    const b = Buffer.alloc(16);
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
    return b;
  }
  return Buffer.from(ip.split('.').map(Number));
}

function nameBytes(name: string): Buffer {
  const parts = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function questionOf(q: Query, msg: Uint8Array): Buffer {
  return Buffer.from(msg.subarray(12, q.questionEnd));
}

export function blockedReply(q: Query, msg: Uint8Array, how: 'nxdomain' | 'null_ip', ede: { code: number; text: string }, ttl: number): Buffer {
  const answers: Buffer[] = [];
  if (how === 'null_ip' && q.qtype === 1) answers.push(rr(1, ttl, Buffer.from([0, 0, 0, 0])));
  if (how === 'null_ip' && q.qtype === 28) answers.push(rr(28, ttl, Buffer.alloc(16)));
  const rcode = how === 'nxdomain' ? RCODES.NXDOMAIN : RCODES.NOERROR;
  const withOpt = q.ednsUdpSize !== undefined;
  return Buffer.concat([header(q, rcode, answers.length, withOpt ? 1 : 0, 1), questionOf(q, msg), ...answers, ...(withOpt ? [opt(ede)] : [])]);
}

export function errorReply(q: Query | { id: number }, msg: Uint8Array, rcode: keyof typeof RCODES, ede?: { code: number; text: string }): Buffer {
  const full = 'questionEnd' in q;
  const withOpt = full && q.ednsUdpSize !== undefined;
  const rd = full ? q.rd : msg.length > 2 ? (msg[2]! & 1) === 1 : false;
  return Buffer.concat([header({ id: q.id, rd }, RCODES[rcode], 0, withOpt ? 1 : 0, full ? 1 : 0), ...(full ? [questionOf(q, msg)] : []), ...(withOpt ? [opt(ede)] : [])]);
}

export function localReply(q: Query, msg: Uint8Array, answers: readonly { type: 'A' | 'AAAA' | 'PTR'; data: string; ttl: number }[]): Buffer {
  const rrs = answers.map((a) => (a.type === 'PTR' ? rr(12, a.ttl, nameBytes(a.data)) : rr(a.type === 'A' ? 1 : 28, a.ttl, ipBytes(a.data))));
  const withOpt = q.ednsUdpSize !== undefined;
  return Buffer.concat([header(q, 0, rrs.length, withOpt ? 1 : 0, 1), questionOf(q, msg), ...rrs, ...(withOpt ? [opt()] : [])]);
}

function ipText(m: Uint8Array, o: number, len: number): string {
  if (len === 4) return `${m[o]}.${m[o + 1]}.${m[o + 2]}.${m[o + 3]}`;
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(u16(m, o + i).toString(16));
  return new URL(`http://[${g.join(':')}]`).hostname.slice(1, -1);
}

export function inspectAnswer(msg: Uint8Array): AnswerFacts | WireError {
  if (msg.length < 12) return { kind: 'drop' };
  const id = u16(msg, 0);
  const flags = u16(msg, 2);
  const facts: AnswerFacts = { rcode: flags & 0xf, truncated: (flags & 0x200) !== 0, minTtl: Infinity, addresses: [], cnameTargets: [], answerCount: u16(msg, 6) };
  let p = 12;
  for (let i = 0; i < u16(msg, 4); i++) {
    const n = readName(msg, p);
    if (!n) return { kind: 'formerr', id };
    p = n.end + 4;
  }
  const an = u16(msg, 6);
  const ns = u16(msg, 8);
  for (let i = 0; i < an + ns; i++) {
    const n = readName(msg, p);
    if (!n || n.end + 10 > msg.length) return { kind: 'formerr', id };
    const type = u16(msg, n.end);
    const ttl = u32(msg, n.end + 4);
    const rdlen = u16(msg, n.end + 8);
    const rd = n.end + 10;
    if (rd + rdlen > msg.length) return { kind: 'formerr', id };
    if (i < an) {
      facts.minTtl = Math.min(facts.minTtl, ttl);
      if (type === 1 && rdlen === 4) facts.addresses.push(ipText(msg, rd, 4));
      else if (type === 28 && rdlen === 16) facts.addresses.push(ipText(msg, rd, 16));
      else if (type === 5) {
        const t = readName(msg, rd);
        if (t) facts.cnameTargets.push(t.name);
      } else if (type === 65 || type === 64) {
        // SvcParams after priority and target: ipv4hint (4), ipv6hint (6)
        const t = readName(msg, rd + 2);
        let o = t ? t.end : rd + rdlen;
        while (o + 4 <= rd + rdlen) {
          const key = u16(msg, o);
          const len = u16(msg, o + 2);
          if (key === 4) for (let j = 0; j + 4 <= len; j += 4) facts.addresses.push(ipText(msg, o + 4 + j, 4));
          if (key === 6) for (let j = 0; j + 16 <= len; j += 16) facts.addresses.push(ipText(msg, o + 4 + j, 16));
          o += 4 + len;
        }
      }
    } else if (type === 6 && an === 0) {
      const a = readName(msg, rd);
      const b = a ? readName(msg, a.end) : undefined;
      if (b && b.end + 20 <= msg.length) facts.minTtl = Math.min(ttl, u32(msg, b.end + 16));
    }
    p = rd + rdlen;
  }
  if (facts.minTtl === Infinity) facts.minTtl = 0;
  return facts;
}

export function withId(msg: Uint8Array, id: number): Buffer {
  const b = Buffer.from(msg);
  b.writeUInt16BE(id, 0);
  return b;
}

/** Cut to the header and question with TC=1 when the reply does not fit the client's UDP size. */
export function fitUdp(msg: Uint8Array, maxSize: number): Buffer {
  const b = Buffer.from(msg);
  if (b.length <= maxSize) return b;
  const q = readName(b, 12);
  const end = q ? q.end + 4 : 12;
  const cut = Buffer.from(b.subarray(0, end));
  cut.writeUInt16BE(cut.readUInt16BE(2) | 0x200, 2);
  cut.writeUInt16BE(0, 6);
  cut.writeUInt16BE(0, 8);
  cut.writeUInt16BE(0, 10);
  return cut;
}
