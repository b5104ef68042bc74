/** What the resolver learns from an upstream reply: the addresses and names it checks, how long it may cache. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket, { type Answer } from 'dns-packet';
import { inspectAnswer, type AnswerFacts } from '../../src/dns/index.js';
import { compressOwners, replyMsg, soa, svcRdata } from './helpers/dns-wire-gen.js';

function facts(msg: Uint8Array): AnswerFacts {
  const f = inspectAnswer(msg);
  assert.ok(!('kind' in f), `refused: ${JSON.stringify(f)}`);
  return f;
}

function refused(msg: Uint8Array, id: number): void {
  assert.deepEqual(inspectAnswer(msg), { kind: 'formerr', id });
}

describe('inspectAnswer on real replies', () => {
  it('a CNAME chain to two A records: both addresses, the targets lower-case, the smallest TTL', () => {
    const msg = replyMsg('www.shop.example', {
      answers: [
        { type: 'CNAME', name: 'www.shop.example', ttl: 3600, data: 'Shop.CDN.example.net' },
        { type: 'CNAME', name: 'shop.cdn.example.net', ttl: 300, data: 'edge7.cdn.example.net' },
        { type: 'A', name: 'edge7.cdn.example.net', ttl: 60, data: '198.51.100.7' },
        { type: 'A', name: 'edge7.cdn.example.net', ttl: 60, data: '198.51.100.8' },
      ],
      edns: true,
    });
    const f = facts(msg);
    assert.deepEqual(f.addresses, ['198.51.100.7', '198.51.100.8']);
    assert.deepEqual(f.cnameTargets, ['shop.cdn.example.net', 'edge7.cdn.example.net']);
    assert.equal(f.minTtl, 60);
    assert.equal(f.answerCount, 4);
    assert.equal(f.rcode, 0);
    assert.equal(f.negative, false);
  });

  it('the same reply with compressed names (as servers send it) reads the same', () => {
    const packet = {
      type: 'response' as const,
      id: 9,
      flags: dnsPacket.RECURSION_AVAILABLE,
      questions: [{ name: 'evil.example', type: 'A' as const }],
      answers: [
        { type: 'CNAME', name: 'evil.example', ttl: 30, data: 'tracker.example' },
        { type: 'A', name: 'tracker.example', ttl: 30, data: '203.0.113.66' },
      ] as Answer[],
    };
    const msg = compressOwners(packet);
    assert.ok(msg.includes(Buffer.from([0xc0, 12])));
    assert.deepEqual(facts(msg).cnameTargets, ['tracker.example']);
    assert.deepEqual(facts(msg).addresses, ['203.0.113.66']);
  });

  it('AAAA addresses come out compressed and lower-case, as ipaddr.js writes them', () => {
    const msg = replyMsg('v6.example', {
      type: 'AAAA',
      answers: [
        { type: 'AAAA', name: 'v6.example', ttl: 60, data: '2001:0DB8:0000:0000:0000:0000:0000:0066' },
        { type: 'AAAA', name: 'v6.example', ttl: 60, data: '2001:db8:0:1:0:0:0:1' },
        { type: 'AAAA', name: 'v6.example', ttl: 60, data: '::ffff:192.0.2.1' },
      ],
    });
    assert.deepEqual(facts(msg).addresses, ['2001:db8::66', '2001:db8:0:1::1', '::ffff:c000:201']);
  });

  it('HTTPS and SVCB answers: ipv4hint and ipv6hint addresses are checked like A/AAAA', () => {
    const msg = replyMsg('svc.example', {
      type: 'UNKNOWN_65',
      answers: [
        { type: 'UNKNOWN_65', name: 'svc.example', ttl: 300, data: svcRdata(1, '', ['203.0.113.66', '198.51.100.10'], ['2001:db8:66::66']) } as unknown as Answer,
        { type: 'UNKNOWN_64', name: 'svc.example', ttl: 300, data: svcRdata(2, 'alt.svc.example', ['192.0.2.9'], []) } as unknown as Answer,
      ],
    });
    assert.deepEqual(facts(msg).addresses, ['203.0.113.66', '198.51.100.10', '2001:db8:66::66', '192.0.2.9']);
  });

  it('NXDOMAIN is cacheable for min(SOA TTL, SOA MINIMUM) (RFC 2308)', () => {
    const f = facts(replyMsg('nope.example', { rcode: 'NXDOMAIN', authorities: [soa('example', 3600, 300)] }));
    assert.equal(f.rcode, 3);
    assert.equal(f.negative, true);
    assert.equal(f.hasSoa, true);
    assert.equal(f.minTtl, 300);
    assert.equal(facts(replyMsg('nope.example', { rcode: 'NXDOMAIN', authorities: [soa('example', 120, 900)] })).minTtl, 120);
  });

  it('NODATA (NOERROR, no answers, SOA) is negative too; without an SOA there is nothing to cache it by', () => {
    const f = facts(replyMsg('mail.example', { type: 'AAAA', authorities: [soa('example', 600, 60)] }));
    assert.deepEqual([f.negative, f.hasSoa, f.minTtl, f.answerCount], [true, true, 60, 0]);
    const bare = facts(replyMsg('mail.example', { type: 'AAAA' }));
    assert.deepEqual([bare.negative, bare.hasSoa, bare.minTtl], [true, false, 0]);
  });

  it('TC and SERVFAIL are reported; an extended RCODE from the OPT record is part of rcode', () => {
    assert.equal(facts(replyMsg('x.example', { tc: true })).truncated, true);
    assert.equal(facts(replyMsg('x.example', { rcode: 'SERVFAIL' })).rcode, 2);
    const badCookie = replyMsg('x.example', { edns: true, rcode: 'SERVFAIL' });
    badCookie[3] = (badCookie[3]! & 0xf0) | 7; // BADCOOKIE 23 = extended 1, low 7
    badCookie[badCookie.length - 11 + 5] = 1;
    assert.equal(facts(badCookie).rcode, 23);
  });

  it('a TTL with the top bit set counts as 0 (RFC 2181)', () => {
    const msg = replyMsg('x.example', { answers: [{ type: 'A', name: 'x.example', ttl: 100, data: '192.0.2.1' }] });
    msg.writeUInt32BE(0x80000000, msg.length - 10);
    assert.equal(facts(msg).minTtl, 0);
  });
});

describe('inspectAnswer on hostile replies: an error with the ID, never a throw or a hang', () => {
  const base = (): Buffer =>
    replyMsg('loop.example', { id: 0x4444, answers: [{ type: 'CNAME', name: 'loop.example', ttl: 60, data: 'target.example' }] });

  it('a CNAME target that points at itself (compression loop)', () => {
    const msg = base();
    const rdAt = msg.length - 16; // "target.example" is 16 octets
    msg.writeUInt16BE(0xc000 | rdAt, rdAt);
    refused(msg.subarray(0, rdAt + 2), 0x4444);
  });

  it('two pointers pointing at each other, and a pointer forwards', () => {
    const msg = base();
    const rdAt = msg.length - 16;
    msg.writeUInt16BE(0xc000 | (rdAt + 2), rdAt);
    msg.writeUInt16BE(0xc000 | rdAt, rdAt + 2);
    refused(msg, 0x4444);
  });

  it('an RDLENGTH beyond the end of the message', () => {
    const msg = base();
    msg.writeUInt16BE(0xffff, msg.length - 18);
    refused(msg, 0x4444);
  });

  it('an absurd answer count in a small message is refused before any walking', () => {
    const msg = base();
    msg.writeUInt16BE(0xffff, 6);
    refused(msg, 0x4444);
  });

  it('an A record whose RDATA is not 4 octets, an SVCB hint that is not whole addresses', () => {
    const a = replyMsg('x.example', { id: 1, answers: [{ type: 'A', name: 'x.example', ttl: 60, data: '192.0.2.1' }] });
    const longer = Buffer.concat([a, Buffer.from([0])]);
    longer.writeUInt16BE(5, longer.length - 7);
    refused(longer, 1);
    const rd = svcRdata(1, '', ['192.0.2.1'], [], false);
    rd.writeUInt16BE(3, rd.length - 6); // ipv4hint length 3
    refused(replyMsg('x.example', { id: 2, answers: [{ type: 'UNKNOWN_65', name: 'x.example', ttl: 60, data: rd } as unknown as Answer] }), 2);
  });

  it('a query (QR=0) is not a reply; a scrap shorter than a header is dropped', () => {
    const msg = base();
    msg[2] = msg[2]! & 0x7f;
    refused(msg, 0x4444);
    assert.deepEqual(inspectAnswer(Buffer.alloc(5)), { kind: 'drop' });
  });
});
