/**
 * Generators for the DNS wire tests: real messages encoded by dns-packet (and by hand where dns-packet cannot:
 * compression, SVCB/HTTPS), a seeded PRNG, and the reference reading of a reply through dns-packet's decode.
 */
import dnsPacket, { type Answer, type Packet, type Question } from 'dns-packet';
import ipaddr from 'ipaddr.js';
import type { AnswerFacts } from '../../../src/dns/wire/index.js';

/** The parts of dns-packet its type declarations leave out. */
const codec = dnsPacket as unknown as {
  name: { encode(n: string): Buffer; decode(b: Buffer, off: number): string; encodingLength(n: string): number };
  answer: { encode(a: Answer): Buffer };
};

/** mulberry32: fast, seeded, good enough to spread fuzz cases. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const LABEL_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';

export function randomName(r: Prng): string {
  const labels: string[] = [];
  const n = 1 + r.int(5);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const len = r.chance(0.05) ? 40 + r.int(24) : 1 + r.int(12);
    if (total + len + 1 > 250) break;
    let l = '';
    for (let j = 0; j < len; j++) l += LABEL_CHARS[r.int(LABEL_CHARS.length)];
    labels.push(l);
    total += len + 1;
  }
  return labels.join('.');
}

const QTYPES = ['A', 'AAAA', 'MX', 'TXT', 'HTTPS', 'PTR', 'NS', 'SOA', 'CNAME', 'SRV', 'ANY'] as const;

export interface GenQuery {
  msg: Buffer;
  packet: Packet;
}

export function randomQuery(r: Prng): GenQuery {
  const type = r.pick(QTYPES);
  const question = { name: randomName(r), type: type === 'HTTPS' ? 'UNKNOWN_65' : type, class: r.chance(0.95) ? 'IN' : 'CH' } as Question;
  const packet: Packet = {
    type: 'query',
    id: r.int(65536),
    flags: (r.chance(0.9) ? dnsPacket.RECURSION_DESIRED : 0) | (r.chance(0.1) ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [question],
  };
  if (r.chance(0.7)) {
    packet.additionals = [
      { type: 'OPT', name: '.', udpPayloadSize: r.pick([512, 1232, 4096, 100, 65535]), flags: r.chance(0.5) ? dnsPacket.DNSSEC_OK : 0, options: r.chance(0.3) ? [{ code: 10, data: Buffer.alloc(8, 7) }] : [] } as unknown as Answer,
    ];
  }
  return { msg: dnsPacket.encode(packet), packet };
}

export function randomIpv4(r: Prng): string {
  return `${r.int(256)}.${r.int(256)}.${r.int(256)}.${r.int(256)}`;
}

export function randomIpv6(r: Prng): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(r.chance(0.4) ? 0 : r.chance(0.3) ? r.int(16) : r.int(65536));
  return groups.map((g) => g.toString(16)).join(':');
}

/** SVCB/HTTPS RDATA: priority, target ('' = root), then the given params in key order. */
export function svcRdata(priority: number, target: string, v4: readonly string[], v6: readonly string[], extra = true): Buffer {
  const parts: Buffer[] = [];
  const pri = Buffer.alloc(2);
  pri.writeUInt16BE(priority);
  parts.push(pri, codec.name.encode(target === '' ? '.' : target));
  const param = (key: number, value: Buffer): void => {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(key, 0);
    h.writeUInt16BE(value.length, 2);
    parts.push(h, value);
  };
  if (extra) param(1, Buffer.from('\x02h2\x02h3', 'latin1')); // alpn
  if (v4.length > 0) param(4, Buffer.concat(v4.map((a) => Buffer.from(ipaddr.parse(a).toByteArray()))));
  if (v6.length > 0) param(6, Buffer.concat(v6.map((a) => Buffer.from(ipaddr.parse(a).toByteArray()))));
  return Buffer.concat(parts);
}

export interface GenReply {
  msg: Buffer;
  packet: Packet;
}

/** A reply to `qname`: a mix of CNAME chains, A/AAAA, HTTPS with hints, TXT/MX, an SOA for negative answers. */
export function randomReply(r: Prng, qname = randomName(r)): GenReply {
  const answers: Answer[] = [];
  const authorities: Answer[] = [];
  const kind = r.int(10);
  const rcode = kind === 0 ? 'NXDOMAIN' : kind === 1 ? 'SERVFAIL' : 'NOERROR';
  let owner = qname;
  if (rcode === 'NOERROR' && kind !== 2) {
    const chain = r.int(3);
    for (let i = 0; i < chain; i++) {
      const target = randomName(r);
      answers.push({ type: r.chance(0.9) ? 'CNAME' : 'DNAME', name: owner, ttl: r.int(100000), data: target });
      owner = target;
    }
    const n = r.int(5);
    for (let i = 0; i < n; i++) {
      const t = r.int(6);
      if (t <= 1) answers.push({ type: 'A', name: owner, ttl: r.int(100000), data: randomIpv4(r) });
      else if (t === 2) answers.push({ type: 'AAAA', name: owner, ttl: r.int(100000), data: randomIpv6(r) });
      else if (t === 3) {
        const v4 = Array.from({ length: r.int(3) }, () => randomIpv4(r));
        const v6 = Array.from({ length: r.int(3) }, () => randomIpv6(r));
        answers.push({ type: r.chance(0.8) ? 'UNKNOWN_65' : 'UNKNOWN_64', name: owner, ttl: r.int(100000), data: svcRdata(1, r.chance(0.5) ? '' : randomName(r), v4, v6) } as unknown as Answer);
      } else if (t === 4) answers.push({ type: 'TXT', name: owner, ttl: r.int(100000), data: ['v=spf1 -all'] });
      else answers.push({ type: 'MX', name: owner, ttl: r.int(100000), data: { preference: 10, exchange: randomName(r) } });
    }
  }
  if ((answers.length === 0 || rcode === 'NXDOMAIN') && r.chance(0.8)) {
    authorities.push({
      type: 'SOA',
      name: qname.split('.').slice(-2).join('.'),
      ttl: r.int(100000),
      data: { mname: randomName(r), rname: randomName(r), serial: r.int(1e9), refresh: 3600, retry: 600, expire: 86400, minimum: r.int(100000) },
    });
  }
  const packet: Packet = {
    type: 'response',
    id: r.int(65536),
    // dns-packet encodes the RCODE only from the low bits of flags.
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (r.chance(0.05) ? dnsPacket.TRUNCATED_RESPONSE : 0) | RCODES[rcode]!,
    rcode,
    questions: [{ name: qname, type: 'A', class: 'IN' }],
    answers,
    authorities,
  } as Packet;
  if (r.chance(0.6)) packet.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as Answer];
  return { msg: dnsPacket.encode(packet), packet };
}

const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

/** What inspectAnswer should say, worked out independently from dns-packet's decode. */
export function referenceFacts(msg: Buffer): Pick<AnswerFacts, 'rcode' | 'truncated' | 'minTtl' | 'addresses' | 'cnameTargets' | 'answerCount'> {
  const p = dnsPacket.decode(msg);
  const answers = p.answers ?? [];
  const addresses: string[] = [];
  const cnameTargets: string[] = [];
  let min = Infinity;
  for (const a of answers) {
    const ttl = (a as { ttl?: number }).ttl ?? 0;
    min = Math.min(min, ttl);
    if (a.type === 'A') addresses.push(a.data);
    else if (a.type === 'AAAA') addresses.push(ipaddr.parse(a.data).toString());
    else if (a.type === 'CNAME' || a.type === 'DNAME') cnameTargets.push(a.data === '.' ? '' : a.data.toLowerCase());
    else if ((a.type as string) === 'UNKNOWN_65' || (a.type as string) === 'UNKNOWN_64') addresses.push(...svcHints((a as unknown as { data: Buffer }).data));
  }
  const rcode = RCODES[(p as { rcode?: string }).rcode ?? 'NOERROR'] ?? -1;
  const negative = rcode === 3 || (rcode === 0 && answers.length === 0);
  let minTtl = min === Infinity ? 0 : min;
  if (negative) {
    const soa = (p.authorities ?? []).find((a) => a.type === 'SOA');
    minTtl = soa === undefined || soa.type !== 'SOA' ? 0 : Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0, min);
  }
  return { rcode, truncated: p.flag_tc === true, minTtl, addresses, cnameTargets, answerCount: answers.length };
}

function svcHints(rd: Buffer): string[] {
  const out: string[] = [];
  let off = 2;
  // Walk the target's labels as bytes (a decode/encode round trip changes the length of non-UTF-8 labels).
  while (off < rd.length && rd[off] !== 0) off += rd[off]! + 1;
  off++;
  while (off + 4 <= rd.length) {
    const key = rd.readUInt16BE(off);
    const len = rd.readUInt16BE(off + 2);
    const v = rd.subarray(off + 4, off + 4 + len);
    if (key === 4) for (let i = 0; i < v.length; i += 4) out.push(ipaddr.fromByteArray([...v.subarray(i, i + 4)]).toString());
    if (key === 6) for (let i = 0; i < v.length; i += 16) out.push(ipaddr.fromByteArray([...v.subarray(i, i + 16)]).toString());
    off += 4 + len;
  }
  return out;
}

/**
 * The same reply with name compression as real servers send it: every owner equal to the question name becomes a
 * pointer to offset 12, and so does a CNAME target equal to it. Built by hand (dns-packet never compresses).
 */
export function compressOwners(p: Packet): Buffer {
  const q = p.questions![0]!;
  const head = dnsPacket.encode({ ...p, answers: [], authorities: [], additionals: [] });
  const qname = q.name.toLowerCase();
  const parts: Buffer[] = [head];
  const rrs = [...(p.answers ?? []), ...(p.authorities ?? []), ...(p.additionals ?? [])];
  for (const rr of rrs) {
    const enc = codec.answer.encode(rr);
    if (rr.type !== 'OPT' && rr.name.toLowerCase() === qname) {
      const nameLen = codec.name.encodingLength(rr.name);
      parts.push(Buffer.from([0xc0, 12]), enc.subarray(nameLen));
    } else parts.push(enc);
  }
  const out = Buffer.concat(parts);
  out.writeUInt16BE((p.answers ?? []).length, 6);
  out.writeUInt16BE((p.authorities ?? []).length, 8);
  out.writeUInt16BE((p.additionals ?? []).length, 10);
  return out;
}

export interface QueryOpts {
  id?: number;
  type?: string;
  /** EDNS UDP size; undefined = no OPT record. */
  edns?: number;
  dnssecOk?: boolean;
  cd?: boolean;
  rd?: boolean;
}

/** A client's query as dig would send it, encoded by dns-packet. */
export function queryMsg(name: string, o: QueryOpts = {}): Buffer {
  const packet: Packet = {
    type: 'query',
    id: o.id ?? 0x1234,
    flags: (o.rd === false ? 0 : dnsPacket.RECURSION_DESIRED) | (o.cd === true ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name, type: (o.type ?? 'A') as Question['type'], class: 'IN' }],
  };
  if (o.edns !== undefined) {
    packet.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: o.edns, flags: o.dnssecOk === true ? dnsPacket.DNSSEC_OK : 0, options: [] } as unknown as Answer];
  }
  return dnsPacket.encode(packet);
}

/** An upstream's reply to `name`, encoded by dns-packet (OPT with 1232 when `edns`). */
export function replyMsg(
  name: string,
  o: { id?: number; type?: string; rcode?: string; answers?: Answer[]; authorities?: Answer[]; edns?: boolean; tc?: boolean } = {},
): Buffer {
  const packet = {
    type: 'response',
    id: o.id ?? 0x1234,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (o.tc === true ? dnsPacket.TRUNCATED_RESPONSE : 0) | (RCODES[o.rcode ?? 'NOERROR'] ?? 0),
    rcode: o.rcode ?? 'NOERROR',
    questions: [{ name, type: o.type ?? 'A', class: 'IN' }],
    answers: o.answers ?? [],
    authorities: o.authorities ?? [],
    additionals: o.edns === true ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] }] : [],
  } as unknown as Packet;
  return dnsPacket.encode(packet);
}

export function soa(zone: string, ttl: number, minimum: number): Answer {
  return { type: 'SOA', name: zone, ttl, data: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial: 2026120101, refresh: 7200, retry: 3600, expire: 1209600, minimum } };
}

/** The Extended DNS Error option of a decoded reply, if any. */
export function edeOf(p: Packet): { code: number; text: string } | undefined {
  const opt = (p.additionals ?? []).find((a) => a.type === 'OPT') as unknown as { options: { code: number; data: Buffer }[] } | undefined;
  const o = opt?.options.find((x) => x.code === 15);
  return o === undefined ? undefined : { code: o.data.readUInt16BE(0), text: o.data.subarray(2).toString('utf8') };
}

export function optOf(p: Packet): { udpPayloadSize: number; flags: number; extendedRcode: number } | undefined {
  return (p.additionals ?? []).find((a) => a.type === 'OPT') as unknown as { udpPayloadSize: number; flags: number; extendedRcode: number } | undefined;
}
