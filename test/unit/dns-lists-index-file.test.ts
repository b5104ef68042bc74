/**
 * The domain index file the daemon writes for its resolver workers: what is read back answers like the
 * index that was written, and a missing, short or damaged file is a clear error naming the file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DomainIndex, parseDomainList } from '../../src/dns/index.js';
import { parseIndexFile, readIndexFile, writeIndexFile } from '../../src/dns/lists/index-file.js';

describe('domain index file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-m1-idxfile-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const text = Array.from({ length: 3000 }, (_, i) => `name${i}.example`).join('\n');
  const idx = DomainIndex.buildSync([{ id: 5, rules: parseDomainList(text, 'domains').rules }]);

  it('reads back what was written: same names, same verdicts, the generation', async () => {
    const f = join(dir, 'a.idx');
    await writeIndexFile(idx, f, 7);
    const got = await readIndexFile(f);
    assert.equal(got.generation, 7);
    assert.equal(got.index.size, 3000);
    assert.deepEqual(got.index.match('x.name2999.example', 1 << 5), { verdict: 'block', list: 5, matched: 'name2999.example' });
    assert.equal(got.index.match('name3000.example', 1 << 5).verdict, 'none');
    assert.equal(got.index.match('name1.example', 1 << 4).verdict, 'none', 'another list bit does not match');
  });

  it('a second write replaces the file whole', async () => {
    const f = join(dir, 'b.idx');
    await writeIndexFile(idx, f, 1);
    await writeIndexFile(DomainIndex.buildSync([{ id: 0, rules: parseDomainList('other.example\n', 'domains').rules }]), f, 2);
    const got = await readIndexFile(f);
    assert.equal(got.generation, 2);
    assert.equal(got.index.match('other.example', 1).verdict, 'block');
    assert.equal(got.index.match('name1.example', 1 << 5).verdict, 'none');
  });

  it('a missing file is an error naming it', async () => {
    await assert.rejects(readIndexFile(join(dir, 'nope.idx')), /domain index file .*nope\.idx cannot be read/);
  });

  it('a truncated, foreign or inconsistent file is refused with the reason', async () => {
    const f = join(dir, 'c.idx');
    await writeIndexFile(idx, f, 3);
    const good = readFileSync(f);
    const short = join(dir, 'short.idx');
    writeFileSync(short, good.subarray(0, good.length - 10));
    await assert.rejects(readIndexFile(short), /short\.idx is damaged: \d+ bytes where the header announces \d+/);
    assert.throws(() => parseIndexFile(new Uint8Array(10)), /shorter than its header/);
    assert.throws(() => parseIndexFile(Buffer.from('x'.repeat(100))), /wrong magic number/);
    // Tags that do not describe the table's slots: fromTransfer's shape check, reported as damage.
    const bent = new Uint8Array(good);
    const h = new Uint32Array(bent.buffer, 0, 6);
    h[3] = h[3]! - 24;
    h[4] = h[4]! + 24;
    assert.throws(() => parseIndexFile(bent), /damaged: table and tags do not describe the same slots/);
    // The same bytes at an odd offset (not 4-aligned) still read.
    const odd = Buffer.alloc(good.length + 1);
    good.copy(odd, 1);
    assert.equal(parseIndexFile(odd.subarray(1)).index.size, 3000);
  });
});
