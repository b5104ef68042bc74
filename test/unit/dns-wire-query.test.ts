/** What a client sees when its question is read: what is accepted, and the error it gets for what is not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { parseQuery, wireErrorReply, type Query, type WireError } from '../../src/dns/index.js';
import { optOf, queryMsg } from './helpers/dns-wire-gen.js';

function ok(msg: Uint8Array): Query {
  const q = parseQuery(msg);
  assert.ok(!('kind' in q), `refused: ${JSON.stringify(q)}`);
  return q;
}

function refused(msg: Uint8Array): Extract<WireError, { kind: 'formerr' }> {
  const q = parseQuery(msg);
  assert.ok('kind' in q && q.kind === 'formerr', `expected FORMERR, got ${JSON.stringify(q)}`);
  return q;
}

/** The error answer the client receives, as dig would decode it. */
function answerTo(msg: Buffer): dnsPacket.DecodedPacket & { rcode?: string } {
  const err = parseQuery(msg);
  assert.ok('kind' in err);
  const reply = wireErrorReply(err, msg);
  assert.ok(reply !== undefined, 'no answer at all');
  return dnsPacket.decode(reply) as dnsPacket.DecodedPacket & { rcode?: string };
}

/** A hand-made query: header with the given counts, then `body`. */
function raw(body: number[], o: { id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number } = {}): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(o.id ?? 0xbeef, 0);
  h.writeUInt16BE(o.flags ?? 0x0100, 2);
  h.writeUInt16BE(o.qd ?? 1, 4);
  h.writeUInt16BE(o.an ?? 0, 6);
  h.writeUInt16BE(o.ns ?? 0, 8);
  h.writeUInt16BE(o.ar ?? 0, 10);
  return Buffer.concat([h, Buffer.from(body)]);
}

describe('parseQuery: questions as clients send them', () => {
  it('reads the name lower-case without the trailing dot, with type, class, RD and CD', () => {
    const msg = queryMsg('WwW.Example.COM', { id: 4242, type: 'AAAA', cd: true });
    const q = ok(msg);
    assert.deepEqual(q, { id: 4242, name: 'www.example.com', qtype: 28, qclass: 1, rd: true, cd: true, ednsUdpSize: undefined, dnssecOk: false, questionEnd: msg.length });
  });

  it("takes the EDNS UDP size and DO bit from the client's OPT; a size below 512 counts as 512", () => {
    assert.equal(ok(queryMsg('example.com', { edns: 4096, dnssecOk: true })).ednsUdpSize, 4096);
    assert.equal(ok(queryMsg('example.com', { edns: 4096, dnssecOk: true })).dnssecOk, true);
    assert.equal(ok(queryMsg('example.com', { edns: 1232 })).dnssecOk, false);
    assert.equal(ok(queryMsg('example.com', { edns: 100 })).ednsUdpSize, 512);
    const q = ok(queryMsg('example.com', { edns: 1232 }));
    assert.equal(q.questionEnd, 12 + 13 + 4, 'questionEnd stops before the OPT record');
  });

  it("reads the root ('.') as the empty name, e.g. the NS query of a priming resolver", () => {
    assert.equal(ok(queryMsg('.', { type: 'NS' })).name, '');
  });

  it('keeps names apart that differ only in bytes a dot or a NUL would hide', () => {
    const dotInLabel = raw([3, 0x61, 0x2e, 0x62, 3, 0x63, 0x6f, 0x6d, 0, 0, 1, 0, 1]); // "a.b" as one label
    const nul = raw([3, 0x61, 0x00, 0x62, 3, 0x63, 0x6f, 0x6d, 0, 0, 1, 0, 1]);
    assert.equal(ok(dotInLabel).name, 'a\\.b.com');
    assert.equal(ok(nul).name, 'a\\000b.com');
    assert.equal(ok(raw([7, ...Buffer.from('a.b.com'.replace(/\./g, '-')), 0, 0, 1, 0, 1])).name, 'a-b-com');
  });

  it('accepts the longest legal name (255 octets) and a 63-octet label', () => {
    const label = 'a'.repeat(63);
    const name = [label, label, label, 'b'.repeat(61)].join('.');
    assert.equal(ok(queryMsg(name)).name, name);
  });
});

describe('parseQuery: what gets FORMERR, NOTIMP, BADVERS or nothing', () => {
  it('a query with a compression loop gets FORMERR with its ID', () => {
    const msg = raw([0xc0, 12, 0, 1, 0, 1], { id: 0x5151 }); // the name points at itself
    assert.deepEqual(refused(msg), { kind: 'formerr', id: 0x5151 });
    const p = answerTo(msg);
    assert.equal(p.id, 0x5151);
    assert.equal(p.rcode, 'FORMERR');
    assert.equal(p.flag_qr, true);
    assert.equal(p.flag_rd, true, "the client's RD bit is echoed");
  });

  it('any compression pointer in a question is FORMERR, even a well-formed one', () => {
    refused(raw([1, 0x61, 0xc0, 12, 0, 1, 0, 1]));
  });

  it('a label of 64 octets or more (or a reserved label type) is FORMERR', () => {
    refused(raw([64, ...Buffer.alloc(64, 0x61), 0, 0, 1, 0, 1]));
    refused(raw([0x41, ...Buffer.alloc(1, 0x61), 0, 0, 1, 0, 1]));
  });

  it('a name longer than 255 octets is FORMERR', () => {
    const body: number[] = [];
    for (let i = 0; i < 5; i++) body.push(60, ...Buffer.alloc(60, 0x61)); // 305 octets
    refused(raw([...body, 0, 0, 1, 0, 1]));
  });

  it('a question cut off in the name or before QTYPE/QCLASS is FORMERR with the ID', () => {
    const whole = queryMsg('example.com', { id: 777 });
    for (const cut of [13, 20, whole.length - 1, whole.length - 3]) assert.equal(refused(whole.subarray(0, cut)).id, 777);
  });

  it('QDCOUNT other than 1, answers or authority records in a query, or too many additional records are FORMERR', () => {
    const body = [1, 0x61, 0, 0, 1, 0, 1];
    refused(raw(body, { qd: 0 }));
    refused(raw([...body, ...body], { qd: 2 }));
    refused(raw(body, { an: 1 }));
    refused(raw(body, { ns: 1 }));
    refused(raw(body, { ar: 5 }));
  });

  it('an additional record running past the end, or a second OPT, is FORMERR', () => {
    const q = queryMsg('example.com', { edns: 1232 });
    refused(q.subarray(0, q.length - 3));
    const opt = q.subarray(12 + 13 + 4);
    const two = Buffer.concat([q, opt]);
    two.writeUInt16BE(2, 10);
    refused(two);
  });

  it('EDNS version 1 gets BADVERS: an OPT with extended RCODE 1 (RFC 6891)', () => {
    const q = queryMsg('example.com', { edns: 1232, id: 99 });
    q[12 + 13 + 4 + 6] = 1; // OPT TTL byte 2: version
    assert.deepEqual(refused(q), { kind: 'formerr', id: 99, rcode: 16 });
    const p = answerTo(q);
    assert.equal(p.id, 99);
    assert.equal(optOf(p)?.extendedRcode, 1);
  });

  it('an opcode other than QUERY (NOTIFY, UPDATE) gets NOTIMP', () => {
    const notify = raw([1, 0x61, 0, 0, 6, 0, 1], { flags: 4 << 11 });
    assert.equal(refused(notify).rcode, 4);
    assert.equal(answerTo(notify).rcode, 'NOTIMP');
  });

  it('responses (QR=1) and anything shorter than a header get no answer at all', () => {
    const resp = raw([1, 0x61, 0, 0, 1, 0, 1], { flags: 0x8180 });
    assert.deepEqual(parseQuery(resp), { kind: 'drop' });
    assert.equal(wireErrorReply({ kind: 'drop' }, resp), undefined);
    for (let n = 0; n < 12; n++) assert.deepEqual(parseQuery(Buffer.alloc(n, 0x41)), { kind: 'drop' });
  });
});
