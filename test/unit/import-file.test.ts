import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { iterateImportText, parseImportText, type ImportSkips } from '../../src/decisions/import-file.js';

describe('parseImportText', () => {
  it('reads one address or range per line with comments, blank lines and canonical values', () => {
    const text = [
      '# my blocklist', //               1
      '192.0.2.1', //                    2
      '', //                             3
      '198.51.100.77/24  # scanner', //  4
      '  2001:DB8::1 ; from the logs', // 5
      '; only a comment', //             6
      '   \t ', //                       7
      '10.0.0.1#no space', //            8
    ].join('\n');
    const r = parseImportText(text);
    assert.deepEqual(
      r.items.map((i) => [i.value, i.comment]),
      [
        ['192.0.2.1', undefined],
        ['198.51.100.0/24', 'scanner'],
        ['2001:db8::1', 'from the logs'],
        ['10.0.0.1', 'no space'],
      ],
    );
    assert.equal(r.items[1]!.target.prefix, 24);
    assert.equal(r.skipped, 0);
    assert.deepEqual(r.skippedSamples, []);
  });

  it('counts and shows bad lines with their line numbers, and keeps the good ones', () => {
    const text = ['192.0.2.1', 'not-an-ip', '192.0.2.2 extra words # c', '192.0.2.3, 192.0.2.4', '1.2.3.4/33', '192.0.2.5'].join('\n');
    const r = parseImportText(text);
    assert.deepEqual(r.items.map((i) => i.value), ['192.0.2.1', '192.0.2.5']);
    assert.equal(r.skipped, 4);
    assert.deepEqual(
      r.skippedSamples.map((s) => [s.line, s.text, s.why]),
      [
        [2, 'not-an-ip', 'not an IP address or CIDR range'],
        [3, '192.0.2.2 extra words # c', 'unexpected text after the address'],
        [4, '192.0.2.3, 192.0.2.4', 'unexpected text after the address'],
        [5, '1.2.3.4/33', 'not an IP address or CIDR range'],
      ],
    );
  });

  it('handles Windows (CRLF) line endings like Unix ones', () => {
    const unix = '# header\n192.0.2.1\n\n198.51.100.0/24 # why\nbad line\n2001:db8::/32 ; v6\n';
    const crlf = unix.replace(/\n/g, '\r\n');
    const a = parseImportText(unix);
    const b = parseImportText(crlf);
    assert.deepEqual(
      b.items.map((i) => [i.value, i.comment]),
      [
        ['192.0.2.1', undefined],
        ['198.51.100.0/24', 'why'],
        ['2001:db8::/32', 'v6'],
      ],
    );
    assert.deepEqual(b.items.map((i) => [i.value, i.comment]), a.items.map((i) => [i.value, i.comment]));
    assert.equal(b.skipped, 1);
    assert.equal(b.skippedSamples[0]!.line, 5);
  });

  it('shows a CRLF file\'s bad line without the carriage return', () => {
    const r = parseImportText('192.0.2.1\r\nbad line\r\n');
    assert.equal(r.skippedSamples[0]!.text, 'bad line');
  });

  it('accepts a last line without a newline and an empty text', () => {
    assert.deepEqual(parseImportText('192.0.2.1\n192.0.2.2').items.map((i) => i.value), ['192.0.2.1', '192.0.2.2']);
    const empty = parseImportText('');
    assert.deepEqual([empty.items.length, empty.skipped], [0, 0]);
  });

  it('caps the samples at 10 but counts every bad line, with correct line numbers', () => {
    const lines: string[] = [];
    for (let i = 0; i < 25; i++) lines.push(i % 2 === 0 ? `bad${i}` : `10.0.0.${i}`);
    const r = parseImportText(lines.join('\n'));
    assert.equal(r.skipped, 13);
    assert.equal(r.items.length, 12);
    assert.equal(r.skippedSamples.length, 10);
    assert.deepEqual(r.skippedSamples.map((s) => s.line), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    assert.equal(r.skippedSamples[9]!.text, 'bad18');
  });

  it('truncates a long bad line in its sample', () => {
    const r = parseImportText('x'.repeat(5000));
    assert.equal(r.skipped, 1);
    assert.equal(r.skippedSamples[0]!.text.length, 80);
  });

  it('iterateImportText yields lazily and fills the caller\'s skip counter', () => {
    const skips: ImportSkips = { skipped: 0, skippedSamples: [] };
    const it = iterateImportText('bad\n192.0.2.1\nbad2\n192.0.2.2\n', skips);
    assert.equal(it.next().value?.value, '192.0.2.1');
    assert.equal(skips.skipped, 1);
    assert.equal(it.next().value?.value, '192.0.2.2');
    assert.equal(skips.skipped, 2);
    assert.equal(it.next().done, true);
  });

  it('never throws on random bytes, and never yields more than the non-blank lines', () => {
    const seed = Date.now() % 1_000_000;
    let s = seed;
    const rand = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s >>> 8) % n;
    };
    const pieces = ['1', '2', '5', '.', ':', '/', '#', ';', ',', ' ', '\t', '\r', '\n', '\n', 'a', 'f', '0', '255', '::', '%', '\u0000', 'é', '\uffff'];
    for (let round = 0; round < 500; round++) {
      let text = '';
      const len = rand(200);
      for (let i = 0; i < len; i++) text += rand(4) === 0 ? String.fromCharCode(rand(0x3000)) : pieces[rand(pieces.length)];
      const r = parseImportText(text);
      const nonBlank = text.split('\n').filter((l) => l.trim().length > 0).length;
      const msg = `seed ${seed}, text ${JSON.stringify(text)}`;
      assert.ok(r.items.length + r.skipped <= nonBlank, msg);
      assert.ok(r.skippedSamples.length <= Math.min(10, r.skipped), msg);
      for (const item of r.items) assert.equal(item.value, item.target.text, msg);
      for (const sample of r.skippedSamples) assert.ok(sample.line >= 1 && sample.line <= text.split('\n').length, msg);
    }
  });
});
