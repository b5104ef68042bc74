/**
 * A million generated messages through every reader and builder of the wire layer: random bytes and real
 * messages (dns-packet-encoded queries and replies, hand-compressed replies) mutated by bit flips, cuts, inflated
 * counts, compression pointers aimed forwards or at themselves, oversize labels, splices. Nothing may throw or hang;
 * valid messages must read exactly as dns-packet reads them; whatever is accepted must stay inside its bounds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import {
  adjustTtl,
  blockedReply,
  cacheForm,
  DnsCache,
  errorReply,
  fitUdp,
  inspectAnswer,
  localReply,
  parseQuery,
  wireErrorReply,
  type AnswerFacts,
  type Query,
} from '../../src/dns/index.js';
import { skipName } from '../../src/dns/wire/name.js';
import { scanMessage } from '../../src/dns/wire/scan.js';
import { compressOwners, Prng, randomQuery, randomReply, referenceFacts } from './helpers/dns-wire-gen.js';

const CASES = 1_000_000;
const SEED = Number(process.env.DNS_FUZZ_SEED ?? 20261201);

function isQuery(x: Query | { kind: string }): x is Query {
  return !('kind' in x);
}
function isFacts(x: AnswerFacts | { kind: string }): x is AnswerFacts {
  return !('kind' in x);
}

function mutate(r: Prng, base: Buffer, other: Buffer): Buffer {
  const m = Buffer.from(base);
  switch (r.int(9)) {
    case 0: {
      const flips = 1 + r.int(8);
      for (let i = 0; i < flips && m.length > 0; i++) m[r.int(m.length)]! ^= 1 << r.int(8);
      return m;
    }
    case 1:
      return m.subarray(0, r.int(m.length + 1));
    case 2:
      if (m.length >= 12) m.writeUInt16BE(r.chance(0.5) ? 0xffff : r.int(40), 4 + 2 * r.int(4));
      return m;
    case 3: {
      // A pointer aimed at or after itself: the classic compression loop.
      if (m.length < 14) return m;
      const at = 12 + r.int(m.length - 13);
      const target = r.chance(0.5) ? at : at + r.int(Math.max(1, m.length - at));
      m[at] = 0xc0 | ((target >> 8) & 0x3f);
      m[at + 1] = target & 0xff;
      return m;
    }
    case 4: {
      // Two pointers at each other.
      if (m.length < 20) return m;
      const a = 12 + r.int(m.length - 15);
      const b = 12 + r.int(m.length - 15);
      m[a] = 0xc0 | (b >> 8);
      m[a + 1] = b & 0xff;
      m[b] = 0xc0 | (a >> 8);
      m[b + 1] = a & 0xff;
      return m;
    }
    case 5:
      if (m.length > 12) m[12 + r.int(m.length - 12)] = 64 + r.int(192);
      return m;
    case 6:
      return Buffer.concat([m, randomBytes(r, r.int(64))]);
    case 7:
      return Buffer.concat([m.subarray(0, r.int(m.length + 1)), other.subarray(r.int(other.length + 1))]);
    default: {
      // An RDLENGTH or TTL-area byte somewhere after the question set to a large value.
      if (m.length > 20) m[20 + r.int(m.length - 20)] = 0xff;
      return m;
    }
  }
}

/** The query a reply answers (its question under a query header), for storing the reply in the cache. */
function questionOf(m: Buffer): Query | undefined {
  if (m.length < 12) return undefined;
  const end = skipName(m, 12);
  if (end < 0 || end + 4 > m.length) return undefined;
  const msg = Buffer.concat([Buffer.from([m[0]!, m[1]!, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), m.subarray(12, end + 4)]);
  const q = parseQuery(msg);
  return isQuery(q) ? q : undefined;
}

function randomBytes(r: Prng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}

test(`${CASES.toLocaleString('en')} generated messages: nothing throws or hangs, valid ones read as dns-packet reads them`, { timeout: 180_000 }, () => {
  const r = new Prng(SEED);
  const queries = Array.from({ length: 2000 }, () => randomQuery(r));
  const replies = Array.from({ length: 2000 }, () => randomReply(r));
  const compressed = replies.slice(0, 1000).map((x) => compressOwners(x.packet));

  // Valid queries: every field as dns-packet decodes it.
  for (const { msg } of queries) {
    const q = parseQuery(msg);
    assert.ok(isQuery(q), `valid query refused: ${msg.toString('hex')}`);
    const p = dnsPacket.decode(msg);
    const opt = (p.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize: number; flags: number } | undefined;
    assert.equal(q.id, p.id);
    assert.equal(q.name, p.questions![0]!.name.toLowerCase());
    assert.equal(q.qtype, msg.readUInt16BE(q.questionEnd - 4));
    assert.equal(q.questionEnd, 12 + Buffer.byteLength(p.questions![0]!.name) + 2 + 4);
    assert.equal(q.rd, p.flag_rd);
    assert.equal(q.cd, p.flag_cd);
    assert.equal(q.ednsUdpSize, opt === undefined ? undefined : Math.max(512, opt.udpPayloadSize));
    assert.equal(q.dnssecOk, opt !== undefined && (opt.flags & dnsPacket.DNSSEC_OK) !== 0);
  }
  // Valid replies, as encoded and with compressed owners: the same facts as the reference reading.
  for (const msg of [...replies.map((x) => x.msg), ...compressed]) {
    const f = inspectAnswer(msg);
    assert.ok(isFacts(f), `valid reply refused: ${msg.toString('hex')}`);
    const ref = referenceFacts(msg);
    assert.deepEqual(
      { rcode: f.rcode, truncated: f.truncated, minTtl: f.minTtl, addresses: f.addresses, cnameTargets: f.cnameTargets, answerCount: f.answerCount },
      ref,
    );
  }
  let cases = queries.length + replies.length + compressed.length;

  const cache = new DnsCache({ maxEntries: 200, maxBytes: 64 * 1024, minTtl: 0, maxTtl: 3600, negativeTtlMax: 300 });
  const all = [...queries.map((x) => x.msg), ...replies.map((x) => x.msg), ...compressed];
  const someQuery = parseQuery(queries[0]!.msg) as Query;
  let accepted = 0;
  let crossChecked = 0;
  let stored = 0;
  let now = 0;
  while (cases < CASES) {
    const m = r.chance(0.05) ? randomBytes(r, r.int(600)) : mutate(r, r.pick(all), r.pick(all));
    cases++;
    const q = parseQuery(m);
    if (isQuery(q)) {
      accepted++;
      assert.ok(q.questionEnd <= m.length && q.questionEnd >= 17);
      assert.ok(q.name.length <= 4 * 255);
      const blocked = blockedReply(q, m, r.chance(0.5) ? 'nxdomain' : 'null_ip', { code: 15, text: 'list ads' }, 60);
      const err = errorReply(q, m, 'SERVFAIL', { code: 0, text: 'x' });
      const local = localReply(q, m, [{ type: 'A', data: '10.77.0.10', ttl: 60 }, { type: 'PTR', data: 'alice.lan', ttl: 60 }]);
      fitUdp(blocked, 512);
      if (accepted % 64 === 0) {
        // Our replies to whatever we accepted are messages dns-packet can read, with the client's question.
        for (const b of [blocked, err, local]) {
          const p = dnsPacket.decode(b);
          assert.equal(p.id, q.id);
          assert.equal(p.questions!.length, 1);
        }
      }
    } else {
      const reply = wireErrorReply(q, m);
      assert.ok(reply === undefined || reply.length === 12 || reply.length === 23);
    }
    const f = inspectAnswer(m);
    if (isFacts(f)) {
      assert.ok(f.addresses.length <= m.length / 4);
      assert.ok(Number.isInteger(f.minTtl) && f.minTtl >= 0 && f.minTtl <= 0x7fffffff);
      now += 1000;
      const asked = questionOf(m) ?? someQuery;
      cache.set(asked, m, f, now);
      const served = cache.get(asked, now + 500);
      if (served !== undefined) {
        stored++;
        // Whatever the cache serves is a whole message under the asker's ID.
        assert.equal(served.readUInt16BE(0), asked.id);
        assert.equal(scanMessage(served, undefined), served.length);
      }
      if (cases % 10 === 0) {
        // Where dns-packet reads the same garbage too, it finds the same addresses and CNAME targets.
        // dns-packet delimits some records by their content rather than RDLENGTH; compare only where both
        // walks end at the same byte, i.e. agree on where every record is.
        let ref: ReturnType<typeof referenceFacts> | undefined;
        try {
          ref = referenceFacts(m);
          if ((dnsPacket.decode as unknown as { bytes: number }).bytes !== scanMessage(m, undefined)) ref = undefined;
        } catch {
          ref = undefined;
        }
        if (ref !== undefined && ref.cnameTargets.every((t) => /^[a-z0-9_.-]*$/.test(t)) && f.cnameTargets.every((t) => /^[a-z0-9_.-]*$/.test(t))) {
          crossChecked++;
          assert.deepEqual(f.addresses, ref.addresses, m.toString('hex'));
          assert.deepEqual(f.cnameTargets, ref.cnameTargets, m.toString('hex'));
          assert.equal(f.answerCount, ref.answerCount);
        }
      }
    }
    cacheForm(m);
    fitUdp(m, 512);
    adjustTtl(Buffer.from(m), 30);
  }
  assert.ok(cache.stats().bytes <= 64 * 1024);
  console.log(`dns wire fuzz: ${cases.toLocaleString('en')} cases (seed ${SEED}), ${accepted} mutated queries accepted, ${crossChecked} mutated replies cross-checked with dns-packet, ${stored} served from the cache`);
  assert.ok(cases >= CASES);
});
