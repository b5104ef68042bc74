import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { describe, it } from 'node:test';
import { DomainIndex, nameHash, parseDomainList, RuleSet, asAllow, ruleFlag, type RuleArrays } from '../../src/dns/index.js';

function rules(entries: readonly (readonly [string, 'block' | 'allow', 'exact' | 'subtree'])[]): RuleArrays {
  const s = new RuleSet();
  for (const [name, action, scope] of entries) {
    const [hi, lo] = nameHash(name)!;
    s.add(hi, lo, ruleFlag(action, scope));
  }
  return s.compact();
}

describe('DomainIndex semantics', () => {
  const ads = rules([
    ['ads.example', 'block', 'subtree'],
    ['tracker.example', 'block', 'exact'],
    ['ok.ads.example', 'allow', 'subtree'],
  ]);
  const security = rules([['phish.example', 'block', 'subtree'], ['tracker.example', 'block', 'subtree']]);
  const allowlist = asAllow(rules([['safe.phish.example', 'block', 'exact']]));
  const idx = DomainIndex.buildSync([
    { id: 0, rules: ads },
    { id: 3, rules: security },
    { id: 31, rules: allowlist },
  ]);
  const ALL = 0xffffffff;

  it('a subtree entry blocks the name and every subdomain, not a sibling that merely ends alike', () => {
    assert.deepEqual(idx.match('ads.example', ALL), { verdict: 'block', list: 0, matched: 'ads.example' });
    assert.deepEqual(idx.match('a.b.c.ads.example', ALL), { verdict: 'block', list: 0, matched: 'ads.example' });
    assert.equal(idx.match('badads.example', ALL).verdict, 'none');
    assert.equal(idx.match('example', ALL).verdict, 'none');
  });

  it('an exact (hosts) entry blocks only that name', () => {
    assert.deepEqual(idx.match('tracker.example', 0b1), { verdict: 'block', list: 0, matched: 'tracker.example' });
    assert.equal(idx.match('cdn.tracker.example', 0b1).verdict, 'none');
    // …unless another active list has it as a subtree
    assert.deepEqual(idx.match('cdn.tracker.example', 0b1001), { verdict: 'block', list: 3, matched: 'tracker.example' });
  });

  it('an allow exception wins over a block, whichever list has it, but only for lists in the mask', () => {
    assert.deepEqual(idx.match('x.ok.ads.example', ALL), { verdict: 'allow', list: 0, matched: 'ok.ads.example' });
    assert.deepEqual(idx.match('safe.phish.example', ALL), { verdict: 'allow', list: 31, matched: 'safe.phish.example' });
    assert.equal(idx.match('www.safe.phish.example', ALL).verdict, 'block', 'the allowlist entry is exact');
    assert.deepEqual(idx.match('safe.phish.example', 1 << 3), { verdict: 'block', list: 3, matched: 'phish.example' });
  });

  it('the mask selects lists: a list outside it neither blocks nor allows', () => {
    assert.equal(idx.match('ads.example', 1 << 3).verdict, 'none');
    assert.equal(idx.match('phish.example', 0b1).verdict, 'none');
    assert.equal(idx.match('ads.example', 0).verdict, 'none');
  });

  it('odd names do not break it: root, single label, 127 labels, more than the label limit', () => {
    assert.equal(idx.match('', ALL).verdict, 'none');
    assert.equal(idx.match('example', ALL).verdict, 'none');
    assert.equal(idx.match(Array(127).fill('a').join('.') + '.ads.example', ALL).verdict, 'none', 'beyond MAX_LABELS: not looked up');
    assert.equal(idx.match(Array(100).fill('a').join('.') + '.ads.example', ALL).verdict, 'block');
  });

  it('names shared by several lists take one slot; size counts distinct names', () => {
    assert.equal(idx.size, 5); // ads, tracker (two lists), ok.ads, phish, safe.phish
    assert.ok(idx.bytes >= idx.size * 25);
  });

  it('an empty index matches nothing', () => {
    assert.equal(DomainIndex.empty().match('ads.example', 0xffffffff).verdict, 'none');
    assert.equal(DomainIndex.buildSync([]).match('ads.example', 0xffffffff).verdict, 'none');
  });
});

describe('DomainIndex against a plain reference', () => {
  it('random rules over a small name space: every verdict, list and matched name agrees with a Map-based model', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const labels = ['a', 'b', 'c', 'ads', 'x-y', 'z_1'];
    const randomName = (min: number): string => Array.from({ length: min + rnd(4) }, () => labels[rnd(labels.length)]).join('.');
    const FLAGS = [1, 2, 4, 8];
    for (let round = 0; round < 20; round++) {
      const model = new Map<string, number[]>(); // name → flags per list id
      const sources = [];
      for (const id of [0, 1, 5, 31]) {
        const set = new RuleSet();
        for (let i = 0; i < 40; i++) {
          const name = randomName(1);
          const flag = FLAGS[rnd(4)]!;
          const [hi, lo] = nameHash(name)!;
          set.add(hi, lo, flag);
          const per = model.get(name) ?? new Array<number>(32).fill(0);
          per[id]! |= flag;
          model.set(name, per);
        }
        sources.push({ id, rules: set.compact() });
      }
      const idx = DomainIndex.buildSync(sources);
      assert.equal(idx.size, model.size);
      for (let q = 0; q < 400; q++) {
        const name = randomName(1);
        const mask = [0xffffffff, 1, 0b100010, 1 << 31, rnd(0x7fffffff)][rnd(5)]!;
        assert.deepEqual(idx.match(name, mask >>> 0), reference(model, name, mask >>> 0), `${name} mask ${mask}`);
      }
    }
  });
});

/** The semantics spelled out plainly: allow anywhere wins; exact rules only for the name itself; broadest first. */
function reference(model: Map<string, number[]>, name: string, mask: number) {
  const parts = name.split('.');
  let block: { verdict: 'block'; list: number; matched: string } | undefined;
  for (let k = parts.length - 1; k >= 0; k--) {
    const suffix = parts.slice(k).join('.');
    const per = model.get(suffix);
    if (!per) continue;
    const full = k === 0;
    const lists = (want: number) => per.flatMap((f, id) => ((mask >>> id) & 1 && f & want ? [id] : []));
    const allow = lists(8 | (full ? 4 : 0));
    if (allow.length > 0) return { verdict: 'allow', list: allow[0], matched: suffix };
    const b = lists(2 | (full ? 1 : 0));
    if (b.length > 0 && !block) block = { verdict: 'block', list: b[0]!, matched: suffix };
  }
  return block ?? { verdict: 'none' };
}

describe('DomainIndex transfer', () => {
  const text = Array.from({ length: 5000 }, (_, i) => `name${i}.example`).join('\n');
  const idx = DomainIndex.buildSync([{ id: 2, rules: parseDomainList(text, 'domains').rules }]);

  it('round-trips through structured clone (what advanced IPC uses) and answers the same', () => {
    const parts = deserialize(serialize(idx.toTransfer())) as Uint8Array[];
    const copy = DomainIndex.fromTransfer(parts);
    assert.equal(copy.size, 5000);
    assert.deepEqual(copy.match('a.name4999.example', 1 << 2), { verdict: 'block', list: 2, matched: 'name4999.example' });
    assert.equal(copy.match('name5000.example', 1 << 2).verdict, 'none');
  });

  it('a forked process with serialization advanced gets a working index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-h2-idx-'));
    try {
      const child = join(dir, 'child.ts');
      const src = new URL('../../src/dns/index.js', import.meta.url).href;
      writeFileSync(child, `import { DomainIndex } from ${JSON.stringify(src)};
process.on('message', (parts) => { const i = DomainIndex.fromTransfer(parts);
  process.send([i.size, i.match('x.name17.example', 4).verdict, i.match('other.example', 4).verdict], () => process.exit(0)); });`);
      const p = fork(child, { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      const reply = new Promise<unknown>((resolve, reject) => {
        p.once('message', resolve);
        p.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      p.send(idx.toTransfer());
      assert.deepEqual(await reply, [5000, 'block', 'none']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses parts that are not an index', () => {
    assert.throws(() => DomainIndex.fromTransfer([]), /expected \[table, tags, meta\]/);
    assert.throws(() => DomainIndex.fromTransfer([new Uint8Array(24), new Uint8Array(1), new Uint8Array(new Uint32Array([9, 0]).buffer)]), /version 9/);
    assert.throws(() => DomainIndex.fromTransfer([new Uint8Array(24), new Uint8Array(2), new Uint8Array(new Uint32Array([2, 0]).buffer)]), /same slots/);
    assert.throws(() => DomainIndex.fromTransfer([new Uint8Array(24), new Uint8Array(1), new Uint8Array(new Uint32Array([2, 1]).buffer)]), /no free slot/);
  });
});

describe('name hashes', () => {
  it('no 64-bit collisions among 300k similar names, and each 32-bit lane collides about as often as chance says', () => {
    const seenHi = new Map<number, number>();
    const seen64 = new Set<string>();
    let hiCollisions = 0;
    const n = 300_000;
    for (let i = 0; i < n; i++) {
      const [hi, lo] = nameHash(`ad${i.toString(36)}.cdn${i % 97}.example`)!;
      if (seenHi.has(hi)) hiCollisions++;
      seenHi.set(hi, 1);
      seen64.add(`${hi}:${lo}`);
    }
    assert.equal(seen64.size, n);
    // Expected 32-bit collisions for n random values: n²/2^33 ≈ 10.5. A weak lane shows hundreds.
    assert.ok(hiCollisions < 40, `hi lane collisions ${hiCollisions}`);
  });

  it('the suffix chain and the whole-name hash agree (what makes one pass enough)', () => {
    const idx = DomainIndex.buildSync([{ id: 0, rules: rules([['b.example.com', 'block', 'subtree']]) }]);
    assert.equal(idx.match('a.b.example.com', 1).matched, 'b.example.com');
  });
});
