/** The replies Gatehouse writes itself, as a client (dns-packet standing in for dig) reads them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket, { type Answer } from 'dns-packet';
import {
  adjustTtl,
  blockedReply,
  errorReply,
  fitUdp,
  inspectAnswer,
  localReply,
  parseQuery,
  withId,
  type AnswerFacts,
  type Query,
} from '../../src/dns/index.js';
import { edeOf, optOf, queryMsg, replyMsg } from './helpers/dns-wire-gen.js';

type Decoded = dnsPacket.DecodedPacket & { rcode?: string };
const decode = (b: Buffer): Decoded => dnsPacket.decode(b) as Decoded;

function parsed(msg: Buffer): Query {
  const q = parseQuery(msg);
  assert.ok(!('kind' in q));
  return q;
}

function facts(msg: Buffer): AnswerFacts {
  const f = inspectAnswer(msg);
  assert.ok(!('kind' in f));
  return f;
}

describe('blockedReply', () => {
  const ads = { code: 15 as const, text: 'blocked by list ads (doubleclick.net)' };

  it('nxdomain: NXDOMAIN echoing the question as asked, with an SOA that makes caches keep it only `ttl` seconds', () => {
    const msg = queryMsg('Ads.DoubleClick.net', { id: 31337, edns: 4096, dnssecOk: true });
    const p = decode(blockedReply(parsed(msg), msg, 'nxdomain', ads, 60));
    assert.equal(p.id, 31337);
    assert.equal(p.rcode, 'NXDOMAIN');
    assert.deepEqual(p.questions, [{ name: 'Ads.DoubleClick.net', type: 'A', class: 'IN' }]);
    assert.equal(p.flag_rd, true);
    assert.equal(p.flag_ra, true);
    assert.equal(p.answers!.length, 0);
    const soa = p.authorities![0]!;
    assert.equal(soa.type, 'SOA');
    assert.equal(soa.ttl, 60);
    assert.equal(soa.type === 'SOA' && soa.data.minimum, 60);
    // A downstream cache reading it the RFC 2308 way keeps it 60 s.
    assert.equal(facts(blockedReply(parsed(msg), msg, 'nxdomain', ads, 60)).minTtl, 60);
  });

  it('with EDNS: our OPT (UDP 1232, DO echoed) carries Extended DNS Error 15 naming the list', () => {
    const msg = queryMsg('ads.example', { edns: 4096, dnssecOk: true });
    const p = decode(blockedReply(parsed(msg), msg, 'nxdomain', ads, 60));
    assert.equal(optOf(p)?.udpPayloadSize, 1232);
    assert.equal((optOf(p)!.flags & dnsPacket.DNSSEC_OK) !== 0, true);
    assert.deepEqual(edeOf(p), ads);
    const filtered = decode(blockedReply(parsed(msg), msg, 'null_ip', { code: 17, text: 'decision 12 (203.0.113.66)' }, 60));
    assert.deepEqual(edeOf(filtered), { code: 17, text: 'decision 12 (203.0.113.66)' });
  });

  it('without EDNS in the query there is no OPT (and so no EDE) in the answer', () => {
    const msg = queryMsg('ads.example');
    const p = decode(blockedReply(parsed(msg), msg, 'nxdomain', ads, 60));
    assert.equal(optOf(p), undefined);
    assert.equal(p.additionals!.length, 0);
  });

  it('null_ip: A gets 0.0.0.0, AAAA gets ::, both with the block TTL; other types get NODATA with the SOA', () => {
    for (const [type, data] of [['A', '0.0.0.0'], ['AAAA', '::']] as const) {
      const msg = queryMsg('tracker.example', { type });
      const p = decode(blockedReply(parsed(msg), msg, 'null_ip', ads, 7));
      assert.equal(p.rcode, 'NOERROR');
      assert.deepEqual(
        p.answers!.map((a) => [a.name, a.type, (a as { ttl?: number }).ttl, (a as { data: unknown }).data]),
        [['tracker.example', type, 7, data]],
      );
    }
    const mx = queryMsg('tracker.example', { type: 'MX' });
    const p = decode(blockedReply(parsed(mx), mx, 'null_ip', ads, 7));
    assert.equal(p.rcode, 'NOERROR');
    assert.equal(p.answers!.length, 0);
    assert.equal(p.authorities![0]!.type, 'SOA');
  });

  it('cuts a long EDE text at 200 bytes without splitting a UTF-8 character', () => {
    const msg = queryMsg('ads.example', { edns: 1232 });
    const text = 'é'.repeat(150); // 300 bytes
    const got = edeOf(decode(blockedReply(parsed(msg), msg, 'nxdomain', { code: 15, text }, 60)))!;
    assert.equal(got.text, 'é'.repeat(100));
  });
});

describe('errorReply', () => {
  it('SERVFAIL echoes the question and, with EDNS, carries the given EDE', () => {
    const msg = queryMsg('example.org', { id: 5, edns: 1232, cd: true });
    const p = decode(errorReply(parsed(msg), msg, 'SERVFAIL', { code: 22, text: 'no upstream answered' }));
    assert.equal(p.id, 5);
    assert.equal(p.rcode, 'SERVFAIL');
    assert.equal(p.flag_cd, true);
    assert.equal(p.questions![0]!.name, 'example.org');
    assert.deepEqual(edeOf(p), { code: 22, text: 'no upstream answered' });
  });

  it('REFUSED and NXDOMAIN too; from a bare ID it is the header alone', () => {
    const msg = queryMsg('example.org');
    assert.equal(decode(errorReply(parsed(msg), msg, 'REFUSED')).rcode, 'REFUSED');
    assert.equal(decode(errorReply(parsed(msg), msg, 'NXDOMAIN')).rcode, 'NXDOMAIN');
    const bare = errorReply({ id: 77 }, msg, 'FORMERR');
    assert.equal(bare.length, 12);
    assert.equal(decode(bare).rcode, 'FORMERR');
  });
});

describe('localReply', () => {
  it("answers LAN names authoritatively with A/AAAA and reverse names with PTR; data that doesn't fit is left out", () => {
    const msg = queryMsg('alice-laptop.lan', { edns: 1232 });
    const p = decode(
      localReply(parsed(msg), msg, [
        { type: 'A', data: '10.77.0.10', ttl: 60 },
        { type: 'AAAA', data: 'fd77::10', ttl: 60 },
        { type: 'A', data: 'not-an-ip', ttl: 60 },
      ]),
    );
    assert.equal(p.flag_aa, true);
    assert.deepEqual(p.answers!.map((a) => (a as { data: string }).data), ['10.77.0.10', 'fd77::10']);
    const ptr = queryMsg('10.0.77.10.in-addr.arpa', { type: 'PTR' });
    const r = decode(localReply(parsed(ptr), ptr, [{ type: 'PTR', data: 'alice-laptop.lan', ttl: 60 }]));
    assert.deepEqual(r.answers!.map((a) => [a.name, a.type, (a as { data: string }).data]), [['10.0.77.10.in-addr.arpa', 'PTR', 'alice-laptop.lan']]);
  });
});

describe('withId, fitUdp, adjustTtl', () => {
  const many: Answer[] = Array.from({ length: 60 }, (_, i) => ({ type: 'A', name: 'big.example', ttl: 300, data: `192.0.2.${i}` }));

  it("withId puts the querier's ID on a copy and leaves the original alone", () => {
    const up = replyMsg('example.com', { id: 1 });
    const out = withId(up, 0xabcd);
    assert.equal(decode(out).id, 0xabcd);
    assert.equal(decode(up).id, 1);
  });

  it('a reply too big for the client\'s UDP size comes back with TC set, the question and OPT only, so it retries over TCP', () => {
    const big = replyMsg('big.example', { answers: many, edns: true });
    assert.ok(big.length > 1000);
    const p = decode(fitUdp(big, 512));
    assert.equal(p.flag_tc, true);
    assert.equal(p.answers!.length, 0);
    assert.equal(p.questions![0]!.name, 'big.example');
    assert.equal(optOf(p)?.udpPayloadSize, 1232);
    assert.equal(fitUdp(big, 4096), big, 'fits: unchanged');
    assert.equal(decode(fitUdp(replyMsg('big.example', { answers: many }), 600)).additionals!.length, 0);
  });

  it('adjustTtl counts record TTLs down (not below 0) and leaves the OPT flags (DO) alone', () => {
    const up = Buffer.from(
      dnsPacket.encode({
        type: 'response',
        id: 1,
        questions: [{ name: 'example.com', type: 'A' }],
        answers: [
          { type: 'A', name: 'example.com', ttl: 100, data: '192.0.2.1' },
          { type: 'A', name: 'example.com', ttl: 20, data: '192.0.2.2' },
        ],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK, options: [] } as unknown as Answer],
      }),
    );
    assert.equal(adjustTtl(up, 30), true);
    const p = decode(up);
    assert.deepEqual(p.answers!.map((a) => (a as { ttl: number }).ttl), [70, 0]);
    assert.equal(optOf(p)!.flags, dnsPacket.DNSSEC_OK);
  });
});
