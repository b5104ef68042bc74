import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { tryParseTarget } from '../../src/net/ip.js';
import { parseToken } from '../../src/net/fast-target.js';
import { ListParser, parseList } from '../../src/feeds/parse.js';
import type { ListFormat, ParsedList } from '../../src/feeds/types.js';

// The corpus lives in shared/ beside the checkout, not at a path of one machine.
const LISTS = join(fileURLToPath(new URL('../../', import.meta.url)), '..', 'shared', 'corpora', 'lists');
const read = (f: string): string => readFileSync(join(LISTS, f), 'utf8');
const texts = (p: ParsedList): string[] => p.entries.map((e) => e.text);

/** Every line must be accounted for exactly once. */
function assertBalanced(p: ParsedList): void {
  assert.equal(
    p.entries.length + p.duplicates + p.excludedSpecial + p.belowMinScore + p.skipped + p.comments + p.blank,
    p.lines,
    `counts do not add up: ${JSON.stringify({ ...p, entries: p.entries.length, skippedSamples: undefined, excludedSamples: undefined })}`,
  );
  assert.equal(p.dataLines, p.lines - p.comments - p.blank);
}

describe('real lists from the corpus', () => {
  it('FireHOL level1: 6612 data lines as its header says; the 8 bogon ranges are left out', () => {
    const p = parseList(read('firehol_level1-2017-09-15.netset'), 'netset');
    assertBalanced(p);
    assert.equal(p.header.declaredEntries, 6612);
    assert.equal(p.dataLines, 6612);
    assert.equal(p.skipped, 0);
    assert.equal(p.excludedSpecial, 8);
    assert.equal(p.entries.length, 6604);
    assert.deepEqual(
      p.excludedSamples.map((s) => s.text),
      ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', '224.0.0.0/3'],
    );
    assert.match(p.excludedSamples[1]!.why, /private/);
    const set = new Set(texts(p));
    assert.ok(set.has('1.10.16.0/20') && set.has('1.93.0.224'));
    assert.ok(!set.has('10.0.0.0/8'));
    assert.equal(p.header.date, 'Fri Sep 15 00:44:33 UTC 2017');
  });

  it('FireHOL level1 with keepSpecial keeps all 6612', () => {
    const p = parseList(read('firehol_level1-2017-09-15.netset'), 'netset', { keepSpecial: true });
    assertBalanced(p);
    assert.equal(p.entries.length, 6612);
    assert.equal(p.special, 8);
    assert.equal(p.excludedSpecial, 0);
  });

  it('Spamhaus DROP (text): 936 entries, 4 comment lines', () => {
    const p = parseList(read('spamhaus-drop-2023-02-20.txt'), 'spamhaus_drop');
    assertBalanced(p);
    assert.equal(p.entries.length, 936);
    assert.equal(p.comments, 4);
    assert.equal(p.skipped, 0);
    assert.equal(p.entries.at(0)!.text, '1.10.16.0/20');
    assert.equal(p.header.date, 'Sun, 19 Feb 2023 22:03:03 GMT');
  });

  it('IPsum level 5 plain list: 1413 entries', () => {
    const p = parseList(read('ipsum-level5-plain-ips.txt'), 'plain');
    assertBalanced(p);
    assert.equal(p.entries.length, 1413);
    assert.equal(p.skipped + p.comments + p.duplicates, 0);
  });

  it('IPsum scored list honours minScore, and score >= 5 equals the published level-5 list', () => {
    const text = read('ipsum-scored.head2000.txt');
    const all = parseList(text, 'ipsum', { minScore: 1 });
    const three = parseList(text, 'ipsum', { minScore: 3 });
    const five = parseList(text, 'ipsum', { minScore: 5 });
    for (const p of [all, three, five]) assertBalanced(p);
    // The head of the feed is sorted by score and its lowest score is 4.
    assert.equal(all.entries.length, 1993);
    assert.equal(three.entries.length, 1993);
    assert.equal(five.entries.length, 1413);
    assert.equal(five.belowMinScore, 580);
    assert.equal(all.comments, 7);
    const level5 = new Set(texts(parseList(read('ipsum-level5-plain-ips.txt'), 'plain')));
    assert.deepEqual(new Set(texts(five)), level5);
    assert.equal(parseList(text, 'ipsum', { minScore: 10 }).entries.length, 3);
  });

  it('phishing IP lists: the commented RFC 5737 example is not an entry', () => {
    const plain = parseList(read('phishing-db-IP-addr.list.txt'), 'plain');
    assertBalanced(plain);
    assert.equal(plain.lines, 59);
    assert.equal(plain.comments, 2);
    assert.equal(plain.entries.length, 55);
    assert.ok(!texts(plain).includes('192.0.2.1'));

    const cidr = parseList(read('phishing-db-IP-addr.cidr.list.txt'), 'cidr');
    assertBalanced(cidr);
    assert.equal(cidr.lines, 59);
    // "/32" is normalised away; one entry (235.139.34.188) is multicast space and is left out.
    assert.equal(cidr.entries.length, 55);
    assert.equal(cidr.excludedSpecial, 1);
    assert.equal(cidr.excludedSamples[0]!.text, '235.139.34.188/32');
    assert.ok(texts(cidr).includes('129.226.206.133'));
  });

  it('a hosts file given as an IP list is reported as unreadable, not silently accepted', () => {
    const p = parseList(read('adaway-default-hosts.txt'), 'plain');
    assertBalanced(p);
    assert.equal(p.entries.length, 0);
    assert.ok(p.skipped > 6000);
    assert.equal(p.skippedSamples.length, 10);
    assert.match(p.skippedSamples[0]!.why, /more than one field/);
  });
});

describe('edge cases', () => {
  it('plain: CRLF, BOM, inline # and ; comments, blanks, no final newline', () => {
    const p = parseList('\uFEFF# head\r\n1.2.3.4\r\n\r\n  5.6.7.8   # inline\r\n9.9.9.9;x\r\n; semi\r\n2001:db8::1\r\n8.8.4.4', 'plain');
    assertBalanced(p);
    // IPv4 first (held compactly), then IPv6, each in file order.
    assert.deepEqual(texts(p), ['1.2.3.4', '5.6.7.8', '9.9.9.9', '8.8.4.4', '2001:db8::1']);
    assert.equal(p.lines, 8);
    assert.equal(p.comments, 2);
    assert.equal(p.blank, 1);
  });

  it('cidr: normalises host bits and deduplicates by canonical text (first wins)', () => {
    const p = parseList('1.2.3.4/24\n1.2.3.0/24\n1.2.3.9/32\n1.2.3.9\n::ffff:8.8.8.8\n8.8.8.8\n2001:DB8::/32\n2001:db8:0::/32\n', 'cidr');
    assertBalanced(p);
    assert.deepEqual(texts(p), ['1.2.3.0/24', '1.2.3.9', '8.8.8.8', '2001:db8::/32']);
    assert.equal(p.duplicates, 4);
  });

  it('garbage lines are skipped with a reason, never thrown', () => {
    const p = parseList('1.2.3\n256.1.1.1\n010.0.0.1\n1.2.3.4/33\n1.2.3.4-1.2.3.9\nhello\n1.2.3.4 5.6.7.8\nfe80::1%lo0\n1.1.1.1\n', 'cidr');
    assertBalanced(p);
    assert.deepEqual(texts(p), ['1.1.1.1']);
    assert.equal(p.skipped, 8);
    assert.deepEqual(p.skippedSamples.map((s) => s.line), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(p.skippedSamples[5]!.text, 'hello');
    assert.match(p.skippedSamples[0]!.why, /not an IP address/);
  });

  it('special space is caught by overlap, IPv4 and IPv6', () => {
    const p = parseList(
      ['0.0.0.0/0', '96.0.0.0/3', '255.255.255.255', '100.64.1.1', '192.0.2.1', '9.0.0.0/8', '::1', 'fd00::5', 'fe80::/64', 'ff02::1', '2001:db8::/32'].join('\n'),
      'cidr',
    );
    assertBalanced(p);
    // 9.0.0.0/8 ends at 9.255.255.255, just below 10/8 (a /7 would be too broad); documentation space is harmless to block.
    assert.deepEqual(texts(p), ['192.0.2.1', '9.0.0.0/8', '2001:db8::/32']);
    assert.equal(p.excludedSpecial, 8);
  });

  it('Spamhaus DROP JSON lines with a metadata line, plus the old text form', () => {
    const body = [
      '{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}',
      '{"cidr":"2.56.192.0/22","sblid":"SBL459831","rir":"ripencc"}',
      '{"cidr":"not-an-ip","sblid":"SBL1"}',
      '{"sblid":"SBL2"}',
      '{"cidr":',
      '{"type":"metadata","timestamp":1709827264,"size":92410,"records":2,"copyright":"(c) 2024 The Spamhaus Project SLU","terms":"https://www.spamhaus.org/drop/terms/"}',
      '3.3.0.0/16 ; SBL3',
      '; End of DROP list',
    ].join('\n');
    const p = parseList(body, 'spamhaus_drop');
    assertBalanced(p);
    assert.deepEqual(texts(p), ['1.10.16.0/20', '2.56.192.0/22', '3.3.0.0/16']);
    assert.equal(p.skipped, 3);
    assert.equal(p.comments, 2);
    assert.equal(p.header.declaredEntries, 2);
    assert.equal(p.header.date, '2024-03-07T16:01:04.000Z');
    assert.match(p.skippedSamples[2]!.why, /broken JSON/);
  });

  it('ipsum: lines without a numeric score are skipped', () => {
    const p = parseList('# IP\tcount\n1.2.3.4\t3\n5.6.7.8\n9.9.9.9\tmany\n8.8.8.8  7\n', 'ipsum', { minScore: 3 });
    assertBalanced(p);
    assert.deepEqual(texts(p), ['1.2.3.4', '8.8.8.8']);
    assert.equal(p.skipped, 2);
  });

  it('a line over 64 KiB is one skipped line, also when it arrives in pieces', () => {
    const long = '1'.repeat(200_000);
    const whole = parseList(`1.1.1.1\n${long}\n2.2.2.2\n`, 'plain');
    const parser = new ListParser('plain');
    parser.push('1.1.1.1\n');
    for (let i = 0; i < long.length; i += 1000) parser.push(long.slice(i, i + 1000));
    parser.push('\n2.2.2.2\n');
    const pieces = parser.end();
    for (const p of [whole, pieces]) {
      assertBalanced(p);
      assert.deepEqual(texts(p), ['1.1.1.1', '2.2.2.2']);
      assert.equal(p.skipped, 1);
      assert.equal(p.skippedSamples[0]!.line, 2);
      assert.match(p.skippedSamples[0]!.why, /longer than/);
    }
  });

  it('an unknown format is a clear error', () => {
    assert.throws(() => parseList('1.1.1.1', 'csv' as ListFormat), /unknown list format "csv"/);
  });
});

// Deterministic PRNG so a failure can be reproduced.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

describe('fuzz', () => {
  it('the fast IPv4 path accepts exactly what parseTarget accepts, with the same result', () => {
    const r = rng(1);
    const pieces = ['0', '1', '9', '10', '010', '99', '100', '199', '249', '255', '256', '300', '1000', '', '.', '/', '/0', '/8', '/24', '/32', '/33', ' ', 'a', ':'];
    for (let i = 0; i < 20000; i++) {
      let s = '';
      const n = 1 + Math.floor(r() * 9);
      for (let k = 0; k < n; k++) s += r() < 0.5 ? pieces[Math.floor(r() * pieces.length)] : k % 2 ? '.' : String(Math.floor(r() * 300));
      const fast = parseToken(s);
      const ref = tryParseTarget(s);
      if (ref === undefined) {
        assert.equal(fast, undefined, `fast path accepted ${JSON.stringify(s)}`);
        continue;
      }
      assert.ok(fast, `fast path rejected ${JSON.stringify(s)}`);
      assert.equal(fast.text, ref.text, s);
      assert.equal(fast.family, ref.family);
      assert.equal(fast.prefix, ref.prefix);
      assert.equal(fast.isHost, ref.isHost);
      assert.deepEqual(fast.start, ref.start, s);
      assert.deepEqual(fast.end, ref.end, s);
    }
  });

  it('random lines and bytes never throw, counts add up, and chunking does not change the result', () => {
    const r = rng(42);
    const samples = ['1.2.3.4', '10.0.0.1', '2001:db8::1', '1.2.3.0/24', '# c', '; c', '', ' ', '\t5.5.5.5\t# x', '1.2.3.4\t9', '{"cidr":"4.4.4.0/24"}', '{"type":"metadata","records":1}', '{', '0.0.0.0/0', '::', 'x y z'];
    const formats: ListFormat[] = ['plain', 'cidr', 'netset', 'spamhaus_drop', 'ipsum'];
    for (let round = 0; round < 300; round++) {
      let body = '';
      const n = Math.floor(r() * 60);
      for (let i = 0; i < n; i++) {
        if (r() < 0.3) {
          const len = Math.floor(r() * 40);
          for (let k = 0; k < len; k++) body += String.fromCharCode(Math.floor(r() * 256));
        } else {
          body += samples[Math.floor(r() * samples.length)];
        }
        body += r() < 0.2 ? '\r\n' : r() < 0.9 ? '\n' : '';
      }
      for (const format of formats) {
        const whole = parseList(body, format, { minScore: 3 });
        assertBalanced(whole);
        const parser = new ListParser(format, { minScore: 3 });
        for (let at = 0; at < body.length; ) {
          const step = 1 + Math.floor(r() * 17);
          parser.push(body.slice(at, at + step));
          at += step;
        }
        const chunked = parser.end();
        assert.deepEqual(texts(chunked), texts(whole));
        assert.equal(chunked.lines, whole.lines);
        assert.equal(chunked.skipped, whole.skipped);
        assert.equal(chunked.comments, whole.comments);
      }
    }
  });
});

describe('speed', () => {
  it('parses a 1,000,000-line list quickly and without error', () => {
    const parts: string[] = ['# generated\n'];
    for (let i = 0; i < 1_000_000; i++) {
      const x = Math.imul(i, 2654435761) >>> 0;
      parts.push(`${((x >>> 24) % 223) + 1}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}${i % 3 === 0 ? '/24' : ''}\n`);
    }
    const body = parts.join('');
    const t0 = performance.now();
    const p = parseList(body, 'cidr');
    const ms = performance.now() - t0;
    console.log(`# parsed 1,000,000 lines (${(body.length / 1e6).toFixed(1)} MB) in ${ms.toFixed(0)} ms: ${p.entries.length} entries`);
    assertBalanced(p);
    assert.equal(p.lines, 1_000_001);
    assert.equal(p.skipped, 0);
    assert.ok(p.entries.length > 900_000);
    assert.ok(ms < 10_000, `took ${ms} ms`);
  });
});
