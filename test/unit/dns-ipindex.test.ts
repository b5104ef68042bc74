import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import { describe, it } from 'node:test';
import { IpIndex, IpIndexError, type IpAllow, type IpEntry, type IpIndexTransfer } from '../../src/dns/index.js';
import { parseV4, parseV6, v4Text, v6Text } from '../../src/dns/ipindex/parse.js';
import { bytesToText, parseTarget } from '../../src/net/ip.js';

const NOW = 1_800_000_000_000;

/** Small deterministic PRNG (mulberry32): failures replay. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function toBig(b: Buffer): bigint {
  return BigInt('0x' + (b.toString('hex') || '0'));
}

interface Parsed {
  readonly family: 4 | 6;
  readonly start: bigint;
  readonly end: bigint;
  readonly prefix: number;
}
const parsed = new Map<string, Parsed>();
function parsedOf(target: string): Parsed {
  let p = parsed.get(target);
  if (!p) {
    const t = parseTarget(target);
    p = { family: t.family, start: toBig(t.start), end: toBig(t.end), prefix: t.prefix };
    parsed.set(target, p);
  }
  return p;
}

/** The obvious answer: scan everything, allow wins, longest live prefix. */
function oracle(entries: ReadonlyMap<string, IpEntry>, allow: readonly IpAllow[], ip: string, now: number): string | undefined {
  const q = parseTarget(ip);
  const v = toBig(q.start);
  const live = (exp: number | null | undefined) => exp === null || exp === undefined || exp > now;
  const holds = (target: string) => {
    const t = parsedOf(target);
    return t.family === q.family && t.start <= v && v <= t.end ? t.prefix : -1;
  };
  if (allow.some((a) => live(a.expiresAt) && holds(a.target) >= 0)) return undefined;
  let best: IpEntry | undefined;
  let bestP = -1;
  for (const e of entries.values()) {
    if (!live(e.expiresAt)) continue;
    const p = holds(e.target);
    if (p > bestP) {
      best = e;
      bestP = p;
    }
  }
  return best ? `${best.target} ${best.origin}` : undefined;
}

function show(ix: IpIndex, ip: string, now: number): string | undefined {
  const h = ix.lookup(ip, now);
  return h ? `${h.target} ${h.origin}` : undefined;
}

/** Random address bytes with the first bytes drawn from a few values, so ranges nest and overlap often. */
function randomBytes(r: () => number, family: 4 | 6): Buffer {
  const n = family === 4 ? 4 : 16;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i < (family === 4 ? 2 : 5) ? [10, 11, 0xff][Math.floor(r() * 3)]! : Math.floor(r() * 256);
  if (family === 6) b[0] = 0x20;
  return b;
}

function randomTarget(r: () => number, family: 4 | 6): string {
  const bits = family === 4 ? 32 : 128;
  const roll = r();
  const prefix = roll < 0.5 ? bits : family === 4 ? 8 + Math.floor(r() * 24) : [16, 32, 40, 48, 56, 64, 96, 112, 127][Math.floor(r() * 9)]!;
  const t = parseTarget(`${bytesToText(randomBytes(r, family), family)}/${prefix}`);
  return t.text;
}

function randomAddress(r: () => number, family: 4 | 6, near: readonly string[]): string {
  if (near.length > 0 && r() < 0.7) {
    // Inside or next to a known block: where longest-prefix mistakes show.
    const t = parseTarget(near[Math.floor(r() * near.length)]!);
    if (t.family === family) {
      const b = Buffer.from(r() < 0.5 ? t.start : t.end);
      const last = b.length - 1;
      if (r() < 0.3) b[last] = b[last]! ^ 1;
      if (r() < 0.2) b[last - 1] = b[last - 1]! ^ Math.floor(r() * 256);
      return bytesToText(b, family);
    }
  }
  return bytesToText(randomBytes(r, family), family);
}

function randomEntry(r: () => number, family: 4 | 6, id: number): IpEntry {
  const exp = r();
  return {
    target: randomTarget(r, family),
    origin: `feed:l${Math.floor(r() * 5)}`,
    scenario: r() < 0.5 ? 'list' : '',
    decisionId: id,
    expiresAt: exp < 0.6 ? null : exp < 0.8 ? NOW + 3600_000 : NOW - 1000,
  };
}

describe('IpIndex', () => {
  it('names the longest live prefix, like a scan of every decision, in both families (random data)', () => {
    for (const family of [4, 6] as const) {
      for (let seed = 1; seed <= 6; seed++) {
        const r = rng(seed * 100 + family);
        const entries = new Map<string, IpEntry>();
        for (let i = 0; i < 400; i++) {
          const e = randomEntry(r, family, i + 1);
          entries.set(e.target, e);
        }
        const allow: IpAllow[] = Array.from({ length: 6 }, () => ({ target: randomTarget(r, family), expiresAt: r() < 0.5 ? null : NOW - 1 }));
        const ix = IpIndex.build(entries.values(), allow);
        const keys = [...entries.keys()];
        for (let q = 0; q < 1500; q++) {
          const ip = randomAddress(r, family, keys);
          assert.equal(show(ix, ip, NOW), oracle(entries, allow, ip, NOW), `family ${family} seed ${seed}: ${ip}`);
        }
      }
    }
  });

  it('says which range and which list: "203.0.113.66 is in 203.0.113.0/24, listed by feed:phishing_db"', () => {
    const ix = IpIndex.build([
      { target: '203.0.0.0/16', origin: 'feed:big' },
      { target: '203.0.113.0/24', origin: 'feed:phishing_db', scenario: 'phishing', reason: 'listed', decisionId: 42 },
      { target: '2001:db8::/32', origin: 'crowdsec', scenario: 'crowdsecurity/ssh-bf' },
    ]);
    assert.deepEqual(ix.lookup('203.0.113.66', NOW), { target: '203.0.113.0/24', origin: 'feed:phishing_db', scenario: 'phishing', reason: 'listed', decisionId: 42 });
    assert.deepEqual(ix.lookup('2001:db8:0:1::7', NOW), { target: '2001:db8::/32', origin: 'crowdsec', scenario: 'crowdsecurity/ssh-bf' });
    assert.equal(ix.lookup('::ffff:203.0.113.66', NOW)?.target, '203.0.113.0/24', 'an IPv4-mapped AAAA is checked as IPv4');
    assert.equal(ix.lookup('198.51.100.1', NOW), undefined);
  });

  it('lets the allowlist win over any decision, until the allow entry expires', () => {
    const ix = IpIndex.build(
      [
        { target: '203.0.113.5', origin: 'manual' },
        { target: '203.0.113.0/24', origin: 'feed:x' },
        { target: '2001:db8::1', origin: 'manual' },
      ],
      [
        { target: '203.0.113.0/28', expiresAt: NOW + 60_000 },
        { target: '2001:db8::/64' },
      ],
    );
    assert.equal(ix.lookup('203.0.113.5', NOW), undefined, 'a host decision inside an allowed range');
    assert.equal(ix.lookup('203.0.113.16', NOW)?.target, '203.0.113.0/24');
    assert.equal(ix.lookup('2001:db8::1', NOW), undefined);
    assert.equal(ix.lookup('203.0.113.5', NOW + 61_000)?.target, '203.0.113.5', 'expired allow entries no longer win');
    ix.apply({ add: [], remove: [], allow: [] });
    assert.equal(ix.lookup('2001:db8::1', NOW)?.target, '2001:db8::1', 'an allowlist delta replaces the allowlist');
  });

  it('does not match expired decisions: a host falls back to its range, a range to the enclosing one', () => {
    const ix = IpIndex.build([
      { target: '10.1.2.3', origin: 'a', expiresAt: NOW + 10_000 },
      { target: '10.1.2.0/24', origin: 'b', expiresAt: NOW + 20_000 },
      { target: '10.0.0.0/8', origin: 'c', expiresAt: null },
      { target: '2001:db8::5', origin: 'd', expiresAt: NOW + 10_000 },
    ]);
    assert.equal(ix.lookup('10.1.2.3', NOW)?.origin, 'a');
    assert.equal(ix.lookup('10.1.2.3', NOW + 10_000)?.origin, 'b');
    assert.equal(ix.lookup('10.1.2.3', NOW + 20_000)?.origin, 'c');
    assert.equal(ix.lookup('2001:db8::5', NOW + 9_000)?.origin, 'd');
    assert.equal(ix.lookup('2001:db8::5', NOW + 10_000), undefined);
  });

  it('keeps, of several decisions on one value, the longest-lasting one', () => {
    const ix = IpIndex.build([
      { target: '192.0.2.1', origin: 'never', decisionId: 1, expiresAt: null },
      { target: '192.0.2.1', origin: 'soon', decisionId: 2, expiresAt: NOW + 1000 },
      { target: '192.0.2.0/24', origin: 'soon', decisionId: 3, expiresAt: NOW + 1000 },
      { target: '192.0.2.0/24', origin: 'later', decisionId: 4, expiresAt: NOW + 5000 },
    ]);
    assert.equal(ix.lookup('192.0.2.1', NOW)?.origin, 'never');
    assert.equal(ix.lookup('192.0.2.9', NOW)?.origin, 'later');
  });

  it('after random deltas answers exactly like a rebuild and like a scan', () => {
    for (const family of [4, 6] as const) {
      const r = rng(7 + family);
      const entries = new Map<string, IpEntry>();
      let id = 1;
      for (let i = 0; i < 300; i++) {
        const e = randomEntry(r, family, id++);
        entries.set(e.target, e);
      }
      let allow: IpAllow[] = [];
      const ix = IpIndex.build(entries.values(), allow);
      for (let round = 0; round < 40; round++) {
        const add: IpEntry[] = [];
        const remove: string[] = [];
        const keys = [...entries.keys()];
        // Small rounds stay in the overlay; every tenth is big enough to force a rebuild of the segments.
        const n = round % 10 === 9 ? 120 : 1 + Math.floor(r() * 8);
        for (let i = 0; i < n; i++) {
          if (r() < 0.45 && keys.length > 0) {
            const k = keys[Math.floor(r() * keys.length)]!;
            if (entries.delete(k)) remove.push(k);
            // A delta removes before it adds: a value added and removed in one round is not added.
            for (let a = add.findIndex((e) => e.target === k); a >= 0; a = add.findIndex((e) => e.target === k)) add.splice(a, 1);
          } else {
            const old = r() < 0.2 ? entries.get(keys[Math.floor(r() * keys.length)] ?? '') : undefined;
            const e = old ? { ...old, origin: 'changed', decisionId: id++ } : randomEntry(r, family, id++);
            if (remove.includes(e.target)) continue;
            entries.set(e.target, e);
            add.push(e);
          }
        }
        const delta = { add, remove, ...(round % 7 === 3 ? { allow: (allow = [{ target: randomTarget(r, family) }]) } : {}) };
        ix.apply(delta);
        const fresh = IpIndex.build(entries.values(), allow);
        const near = [...entries.keys(), ...remove];
        for (let q = 0; q < 300; q++) {
          const ip = randomAddress(r, family, near);
          const want = oracle(entries, allow, ip, NOW);
          assert.equal(show(ix, ip, NOW), want, `family ${family} round ${round}: ${ip} after delta`);
          assert.equal(show(fresh, ip, NOW), want, `family ${family} round ${round}: ${ip} rebuilt`);
        }
        assert.deepEqual(ix.size, fresh.size);
      }
    }
  });

  it('crosses a process boundary (v8 serialization, as IPC with advanced serialization) unchanged, and keeps taking deltas', () => {
    const r = rng(99);
    const entries: IpEntry[] = [];
    for (let i = 0; i < 500; i++) entries.push(randomEntry(r, i % 3 === 0 ? 6 : 4, i + 1));
    const allow = [{ target: randomTarget(r, 4) }, { target: randomTarget(r, 6) }];
    const ix = IpIndex.build(entries, allow);
    ix.apply({ add: [{ target: '10.10.0.0/16', origin: 'overlay' }], remove: [entries[1]!.target] });
    const copy = IpIndex.fromTransfer(deserialize(serialize(ix.toTransfer())));
    const near = entries.map((e) => e.target);
    for (let q = 0; q < 2000; q++) {
      const ip = randomAddress(r, q % 3 === 0 ? 6 : 4, near);
      assert.deepEqual(copy.lookup(ip, NOW), ix.lookup(ip, NOW), ip);
    }
    const delta = { add: [{ target: '11.11.11.11', origin: 'later', decisionId: 7 }], remove: [entries[2]!.target] };
    copy.apply(delta);
    ix.apply(delta);
    assert.deepEqual(copy.lookup('11.11.11.11', NOW), { target: '11.11.11.11', origin: 'later', decisionId: 7 });
    for (let q = 0; q < 500; q++) {
      const ip = randomAddress(r, 4, near);
      assert.deepEqual(copy.lookup(ip, NOW), ix.lookup(ip, NOW), ip);
    }
    assert.deepEqual(copy.size, ix.size);
    assert.throws(() => IpIndex.fromTransfer({ version: 2 } as never), IpIndexError);
    // A damaged transfer is refused with a clear error, never a worker that hangs or reads past its arrays.
    const damaged = [
      (t: IpIndexTransfer) => ({ ...t, h4: { ...t.h4, labels: t.h4.labels.map(() => 1) } }),
      (t: IpIndexTransfer) => ({ ...t, r4: { ...t.r4, segEntry: t.r4.segEntry.map(() => 1e6) } }),
      (t: IpIndexTransfer) => ({ ...t, r6: { ...t.r6, start: t.r6.start.slice(1) } }),
      (t: IpIndexTransfer) => ({ ...t, r4: { ...t.r4, parent: t.r4.parent.map((_, i) => i) } }),
      (t: IpIndexTransfer) => ({ ...t, labels: ['only one'] }),
    ];
    for (const [i, harm] of damaged.entries()) {
      assert.throws(() => IpIndex.fromTransfer(harm(deserialize(serialize(ix.toTransfer())) as IpIndexTransfer)), IpIndexError, `damage ${i}`);
    }
  });

  it('refuses a delta with a bad value as a whole, and treats a bad answer address as no match', () => {
    const ix = IpIndex.build([{ target: '192.0.2.1', origin: 'm' }]);
    assert.throws(
      () => ix.apply({ add: [{ target: '198.51.100.1', origin: 'm' }], remove: ['192.0.2.1', 'not-an-ip'] }),
      (e: unknown) => e instanceof IpIndexError && /not an IP address or CIDR range: "not-an-ip"/.test(e.message),
    );
    assert.equal(ix.lookup('192.0.2.1', NOW)?.origin, 'm', 'nothing of the refused delta was applied');
    assert.equal(ix.lookup('198.51.100.1', NOW), undefined);
    assert.throws(() => ix.apply({ add: [{ target: '10.0.0.0/33', origin: 'm' }], remove: [] }), IpIndexError);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.4/24', ':::', '1::2::3', '2001:db8::g', 'x'.repeat(100), '::ffff:1.2.3', '1:2:3:4:5:6:7:8:9']) {
      assert.equal(ix.lookup(bad, NOW), undefined, bad);
    }
  });

  it('parses and prints IPv6 like the rest of Gatehouse (ipaddr.js), fuzzed', () => {
    const r = rng(5);
    const w = new Uint32Array(4);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.alloc(16);
      // Runs of zeros of every length, so "::" lands everywhere.
      for (let j = 0; j < 16; j++) b[j] = r() < 0.5 ? 0 : Math.floor(r() * 256);
      const text = bytesToText(b, 6);
      if (parseTarget(text).family === 4) continue;
      assert.equal(parseV6(text, w), 6, text);
      assert.equal(v6Text(w), text);
      assert.equal(parseV6(text.toUpperCase(), w), 6);
      // The expanded form parses to the same words.
      const full = b.toString('hex').match(/.{4}/g)!.join(':');
      const w2 = new Uint32Array(4);
      assert.equal(parseV6(full, w2), 6, full);
      assert.deepEqual([...w2], [...w]);
    }
    for (let i = 0; i < 3000; i++) {
      const junk = Array.from({ length: 1 + Math.floor(r() * 20) }, () => ':.0123456789abcdefg/%'[Math.floor(r() * 21)]).join('');
      const got = parseV6(junk, w);
      let valid = true;
      try {
        parseTarget(junk);
      } catch {
        valid = false;
      }
      if (junk.includes('/')) valid = false;
      if (got !== -1) assert.ok(valid, `accepted ${JSON.stringify(junk)}`);
    }
  });
});

describe('parseV4', () => {
  it('accepts exactly the dotted quads, fuzzed against the strict parser of net/ip.ts', () => {
    const r = rng(11);
    for (let i = 0; i < 20000; i++) {
      const junk =
        r() < 0.5
          ? Array.from({ length: 4 }, () => String(Math.floor(r() * 300))).join('.')
          : Array.from({ length: 1 + Math.floor(r() * 18) }, () => '0123456789..x '[Math.floor(r() * 14)]).join('');
      let strict: number | undefined;
      try {
        const t = parseTarget(junk);
        if (t.family === 4 && !junk.includes('/') && !junk.includes(':')) strict = t.start.readUInt32BE(0);
      } catch {
        strict = undefined;
      }
      const got = parseV4(junk);
      // Leading zeros ("01.2.3.4") and surrounding blanks (which parseTarget trims) are the differences:
      // answers carry neither.
      if (/(^|\.)0\d/.test(junk) || junk !== junk.trim()) continue;
      assert.equal(got < 0 ? undefined : got, strict, JSON.stringify(junk));
      if (strict !== undefined) assert.equal(v4Text(got), junk);
    }
  });
});
