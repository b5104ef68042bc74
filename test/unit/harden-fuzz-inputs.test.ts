import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, publicHost, durationJson, durationText, fuzzSeed, lapiDecision, listLines, randomTarget, valueText, type FuzzContext } from '../e2e/helpers/fuzz-inputs.js';
import { covers, tryParseTarget } from '../../src/net/ip.js';

const ctx: FuzzContext = { avoid: ['10.77.0.0/24', '198.51.100.0/24', 'fd77::/64'], sensitive: ['10.77.0.0/24', '10.77.0.1'] };

function sample(seed: number): unknown[] {
  const r = new Rng(seed);
  const out: unknown[] = [];
  for (let i = 0; i < 200; i++) out.push(durationText(r), durationJson(r), valueText(r, ctx), lapiDecision(r, ctx, i));
  out.push(listLines(r, ctx, 50));
  return out;
}

test('the same seed gives the same inputs, another seed other inputs', () => {
  assert.deepEqual(sample(12345), sample(12345));
  assert.notDeepEqual(sample(12345), sample(12346));
});

test('GATEHOUSE_FUZZ_SEED replays a run; a bad one is refused', () => {
  assert.equal(fuzzSeed({ GATEHOUSE_FUZZ_SEED: '42' }), 42);
  assert.throws(() => fuzzSeed({ GATEHOUSE_FUZZ_SEED: 'abc' }), /GATEHOUSE_FUZZ_SEED/);
  const fresh = fuzzSeed({});
  assert.ok(Number.isInteger(fresh) && fresh >= 0 && fresh <= 0xffffffff);
});

test('random targets parse and never overlap the ranges to avoid', () => {
  const r = new Rng(7);
  const avoid = ctx.avoid.map((a) => tryParseTarget(a)!);
  const prefixes = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const t = tryParseTarget(randomTarget(r, ctx));
    assert.ok(t);
    prefixes.add(t.prefix);
    for (const a of avoid) assert.ok(a.family !== t.family || (!covers(a, t) && !covers(t, a)), `${t.text} overlaps ${a.text}`);
  }
  assert.ok(prefixes.size > 60, `only ${prefixes.size} prefix lengths`);
});

test('public hosts for long bans are hosts outside the avoided ranges', () => {
  const r = new Rng(9);
  for (let i = 0; i < 500; i++) {
    const t = tryParseTarget(publicHost(r, ctx));
    assert.ok(t?.isHost);
    for (const a of ctx.avoid.map((x) => tryParseTarget(x)!)) assert.ok(a.family !== t.family || !covers(a, t));
  }
});
