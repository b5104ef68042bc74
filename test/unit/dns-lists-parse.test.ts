import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DomainIndex, DomainListParser, guardInput, parseDomainList, type DomainListFormat, type ParsedDomainList } from '../../src/dns/index.js';
import { checkRefresh } from '../../src/feeds/index.js';

const CORPORA = join(import.meta.dirname, '../../../shared/corpora/lists');
const read = (f: string): string => readFileSync(join(CORPORA, f), 'utf8');
const ALL = 0xffffffff;

/** Every line counted exactly once, as ParsedDomainList promises. */
function assertBalanced(p: ParsedDomainList): void {
  assert.equal(p.comments + p.blank + p.dataLines, p.lines);
  assert.ok(p.skipped + p.unsupported + p.ignored <= p.dataLines);
  assert.equal(p.names, p.rules.count);
}

function indexOf(p: ParsedDomainList): DomainIndex {
  return DomainIndex.buildSync([{ id: 0, rules: p.rules }]);
}

describe('dns lists: real lists load as they are', () => {
  it('StevenBlack hosts: every 0.0.0.0 name is an exact block; the localhost preamble is ignored, not blocked', () => {
    const p = parseDomainList(read('stevenblack-hosts-fakenews-gambling-porn-social-2019-03-27.head3000.hosts'), 'hosts');
    assertBalanced(p);
    assert.equal(p.lines, 3000);
    // grep -cE '^[[:space:]]*#' → 180 (indented comments included); grep -c '^[[:space:]]*$' → 57
    assert.equal(p.comments, 180);
    assert.equal(p.blank, 57);
    // grep -c '^0\.0\.0\.0 ' → 2750, one of them `0.0.0.0 0.0.0.0` (grep -c '^0\.0\.0\.0 0\.0\.0\.0' → 1)
    assert.equal(p.names, 2749);
    // lines 14-26: 13 preamble lines (localhost … ip6-allhosts) + `0.0.0.0 0.0.0.0`
    assert.equal(p.ignored, 14);
    assert.equal(p.skipped, 0, JSON.stringify(p.skippedSamples));
    const idx = indexOf(p);
    for (const local of ['localhost', 'local', 'broadcasthost', 'ip6-allnodes', 'localhost.localdomain']) {
      assert.equal(idx.match(local, ALL).verdict, 'none', local);
    }
    // `0.0.0.0 fgoogle.com  # misspelling`: the inline comment is not a name
    assert.equal(idx.match('fgoogle.com', ALL).verdict, 'block');
    assert.equal(idx.match('sub.fgoogle.com', ALL).verdict, 'none', 'hosts entries are exact');
  });

  it('AdAway hosts (127.0.0.1, section comments): 6,540 names, the two localhost lines ignored', () => {
    const p = parseDomainList(read('adaway-default-hosts.txt'), 'hosts');
    assertBalanced(p);
    // grep -c '^127\.0\.0\.1 [^ ]' → 6540 (the localhost line has two spaces); comments 2042, blank 2023
    assert.equal(p.names, 6540);
    assert.equal(p.comments, 2042);
    assert.equal(p.blank, 2023);
    assert.equal(p.ignored, 2);
    assert.equal(p.skipped, 0);
    assert.equal(p.duplicates, 0);
  });

  it('AdGuard DNS filter (CRLF): ||name^ blocks and @@||name^ exceptions; URL rules are counted as unsupported, not garbage', () => {
    const p = parseDomainList(read('adguard-dns-filter-2019-04-13.sample.txt'), 'adblock');
    assertBalanced(p);
    // tr -d '\r' | grep -cE '^\|\|[A-Za-z0-9_.-]+\^\|?$' → 2899, of which 12 are IPs (grep -cE '^\|\|[0-9.]+\^\|?$')
    assert.equal(p.blockRules, 2887);
    // grep -cE '^@@\|\|[A-Za-z0-9_.-]+\^\|?$' → 20
    assert.equal(p.allowRules, 20);
    assert.equal(p.names, 2907);
    assert.equal(p.comments, 60); // grep -c '^!'
    assert.equal(p.skipped, 0, JSON.stringify(p.skippedSamples));
    assert.equal(p.unsupported, 3093 - 2907); // every other data line: .domain^, ||x^$mod, ||ip^, partial patterns
    assert.ok(p.unsupportedSamples.every((s) => s.line > 0 && s.text.length > 0 && s.why.length > 0));
    const idx = indexOf(p);
    assert.equal(idx.match('clickiocdn.com', ALL).verdict, 'block');
    assert.equal(idx.match('cdn.clickiocdn.com', ALL).verdict, 'block', '||name^ covers subdomains');
    assert.equal(idx.match('clickiocdn.com.evil', ALL).verdict, 'none');
  });

  it('EasyList (no cosmetics): only the whole-domain rules are taken; the list still loads (not garbage)', () => {
    const p = parseDomainList(read('easylist-nocosmetic.sample.txt'), 'adblock');
    assertBalanced(p);
    // ||name^ → 118 lines, 5 of them IPs → 113; @@||name^ → 5
    assert.equal(p.blockRules, 113);
    assert.equal(p.allowRules, 5);
    assert.equal(p.skipped, 0);
    assert.equal(p.unsupported, 3299 - 118);
    assert.match(p.unsupportedSamples[0]!.why, /modifiers/);
    assert.equal(checkRefresh(undefined, guardInput(p), 0.5).accept, true, 'URL rules are not garbage to the guard');
    assert.equal(checkRefresh(p.names, guardInput(p), 0.5).accept, true);
  });

  it('Phishing.Database domains lists: every line a name, each blocking its subdomains too', () => {
    const plain = parseDomainList(read('phishing-db-add-domain.txt'), 'domains');
    const wild = parseDomainList(read('phishing-db-add-wildcard-domain.txt'), 'domains');
    assertBalanced(plain);
    // wc -l → 776 and 247; sort -u | wc -l gives the same (no duplicates)
    assert.equal(plain.names, 776);
    assert.equal(wild.names, 247);
    assert.equal(plain.skipped + wild.skipped, 0);
    const idx = DomainIndex.buildSync([{ id: 0, rules: plain.rules }, { id: 1, rules: wild.rules }]);
    assert.deepEqual(idx.match('login.wasabiwallet.app', ALL), { verdict: 'block', list: 1, matched: 'wasabiwallet.app' });
    assert.deepEqual(idx.match('coronavirus.app', ALL), { verdict: 'block', list: 0, matched: 'coronavirus.app' });
  });
});

describe('dns lists: line syntax', () => {
  const parse = (text: string, f: DomainListFormat) => parseDomainList(text, f);

  it('hosts: several names per line, any address, upper case folded, bad names reported with line and reason', () => {
    const p = parse('0.0.0.0 A.example.com b.example.com # two\n::1 c.example.com\n203.0.113.9 d.example.com\nexample.org\n0.0.0.0 ok.example.com bad_&.example.com\n127.0.0.1 LocalHost\n0.0.0.0 com\n', 'hosts');
    assert.equal(p.names, 5);
    assert.equal(p.ignored, 1, 'the preamble is recognised in any case');
    assert.match(p.skippedSamples[2]!.why, /"com": a single label/);
    assert.equal(p.skipped, 2);
    assert.deepEqual(p.skippedSamples[0], { line: 4, text: 'example.org', why: 'expected an address then names (hosts format: "0.0.0.0 name")' });
    assert.equal(p.badNames, 1);
    assert.equal(p.skippedSamples[1]?.line, 5);
    assert.match(p.skippedSamples[1]!.why, /bad_&\.example\.com.*not allowed/);
    assert.equal(indexOf(p).match('a.example.com', ALL).verdict, 'block');
  });

  it('domains: names and *.names are subtrees; single labels, IPs, non-ASCII and two-word lines are refused', () => {
    const p = parse('# c\nexample.com\n*.wild.example\n*.zip\ncom\n192.0.2.1\nbücher.de\nxn--bcher-kva.de\n0.0.0.0 x.example\nexample.com\n', 'domains');
    assert.equal(p.names, 4);
    assert.equal(p.duplicates, 1);
    assert.deepEqual(p.skippedSamples.map((s) => s.line), [5, 6, 7, 9]);
    assert.match(p.skippedSamples[0]!.why, /single label/);
    assert.match(p.skippedSamples[1]!.why, /IP address/);
    assert.match(p.skippedSamples[2]!.why, /punycode/);
    const idx = indexOf(p);
    assert.equal(idx.match('wild.example', ALL).verdict, 'block', '*.name includes the name (as Blocky reads it)');
    assert.equal(idx.match('a.b.wild.example', ALL).verdict, 'block');
    assert.equal(idx.match('anything.zip', ALL).verdict, 'block');
    assert.equal(idx.match('xn--bcher-kva.de', ALL).verdict, 'block');
  });

  it('adblock: ||x^ subtree, |x^ exact, @@ exceptions, ^| ends and ||*.x^; headers and comments', () => {
    const p = parse('[Adblock Plus 2.0]\n! c\n# c\n||ads.example^\n|exact.example^\n@@||good.ads.example^|\n||*.wild.example^\n||zip^\nexample.net##.banner\n||x.example^$third-party\n||x.example/path^\n<html>\n', 'adblock');
    assert.equal(p.comments, 3);
    assert.equal(p.blockRules, 4);
    assert.equal(p.allowRules, 1);
    assert.equal(p.unsupported, 3);
    assert.equal(p.skipped, 1, 'markup is garbage');
    const idx = indexOf(p);
    assert.equal(idx.match('exact.example', ALL).verdict, 'block');
    assert.equal(idx.match('a.exact.example', ALL).verdict, 'none');
    assert.equal(idx.match('x.good.ads.example', ALL).verdict, 'allow');
    assert.equal(idx.match('bad.ads.example', ALL).verdict, 'block');
    assert.equal(idx.match('wild.example', ALL).verdict, 'block');
    assert.equal(idx.match('a.zip', ALL).verdict, 'block', 'a TLD rule needs explicit subtree syntax, and then works');
  });
});

describe('dns lists: an error page instead of the list', () => {
  const page = '<!DOCTYPE html>\n<html lang="en">\n<head>\n<title>404 Not Found</title>\n</head>\n<body>\n<h1>Not Found</h1>\nThe requested URL was not found on this server.\n</body>\n</html>\n';
  for (const format of ['hosts', 'domains', 'adblock'] as const) {
    it(`${format}: gives no names and mostly garbage, which the guard refuses`, () => {
      const p = parseDomainList(page, format);
      assert.equal(p.names, 0);
      assert.ok(p.skipped / (p.dataLines - p.unsupported) > 0.5, `${p.skipped} of ${p.dataLines - p.unsupported}`);
      const v = checkRefresh(5000, guardInput(p), 0.5, { subject: `blocklist x` });
      assert.equal(v.accept, false);
      assert.match(v.reason ?? '', /^blocklist x: .*keeping the previous list$/);
    });
  }
});

describe('dns lists: streaming and robustness', () => {
  it('any chunking gives the same result as the whole text (CRLF split between chunks, BOM, no final newline)', () => {
    const text = '\ufeff' + read('adguard-dns-filter-2019-04-13.sample.txt') + '||tail.example^';
    const whole = parseDomainList(text, 'adblock');
    for (const size of [1, 7, 4096]) {
      const p = new DomainListParser('adblock');
      for (let i = 0; i < text.length; i += size) p.push(text.slice(i, i + size));
      const r = p.end();
      assert.equal(r.names, whole.names, `chunk ${size}`);
      assert.equal(r.lines, whole.lines);
      assert.equal(r.unsupported, whole.unsupported);
      assert.deepEqual(r.rules.hi.slice().sort(), whole.rules.hi.slice().sort());
    }
    assert.equal(indexOf(whole).match('tail.example', ALL).verdict, 'block');
  });

  it('an overlong line is one skipped line, and the parser goes on', () => {
    const p = parseDomainList('a.example\n' + 'x'.repeat(70_000) + '\nb.example\n', 'domains');
    assert.equal(p.names, 2);
    assert.equal(p.skipped, 1);
    assert.match(p.skippedSamples[0]!.why, /longer than 64 KiB/);
  });

  it('fuzz: random bytes and mutated real lines never throw and always balance', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const alphabet = 'ab.-_|^@*$#!/ :\t\r\n0.0.0.0 ||x^ [Adblock]\u00e9\ufeff<>%';
    const real = read('adguard-dns-filter-2019-04-13.sample.txt').slice(0, 20_000);
    for (const format of ['hosts', 'domains', 'adblock'] as const) {
      for (let round = 0; round < 150; round++) {
        let text = '';
        if (round % 2 === 0) {
          for (let i = 0; i < 400; i++) text += alphabet[rnd(alphabet.length)];
        } else {
          const chars = [...real.slice(rnd(15_000), rnd(15_000) + 3000)];
          for (let i = 0; i < 60; i++) chars[rnd(chars.length || 1)] = alphabet[rnd(alphabet.length)]!;
          text = chars.join('');
        }
        const p = parseDomainList(text, format);
        assertBalanced(p);
        const idx = indexOf(p);
        idx.match('ab.example', ALL);
      }
    }
  });
});
