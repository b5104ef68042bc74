import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DurationError,
  formatDuration,
  formatDurationNs,
  parseDuration,
  parseDurationNs,
  tryParseDuration,
} from '../../src/config/duration.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe('parseDuration', () => {
  it('reads the forms CrowdSec sends, in milliseconds', () => {
    assert.equal(parseDuration('4h'), 4 * H);
    assert.equal(parseDuration('1h30m'), 90 * M);
    assert.equal(parseDuration('3h59m57s'), 3 * H + 59 * M + 57 * S);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('10s'), 10 * S);
    assert.ok(Math.abs(parseDuration('3h59m58.123456789s') - (3 * H + 59 * M + 58_123.456789)) < 1e-6);
    assert.ok(Math.abs(parseDuration('22h20m11.909761348s') - (22 * H + 20 * M + 11_909.761348)) < 1e-6);
  });

  it('keeps negative durations negative (expired decisions in the deleted list)', () => {
    assert.equal(parseDuration('-1.5s'), -1500);
    assert.equal(parseDuration('-1s'), -1000);
    assert.equal(Math.round(parseDuration('-18897h25m52.809576151s')), -(18897 * H + 25 * M + 52_810));
    assert.equal(Math.round(parseDuration('-75h34m54.509128301s')), -(75 * H + 34 * M + 54_509));
  });

  it('reads sub-millisecond units, including both micro signs', () => {
    assert.equal(parseDuration('2us'), 0.002);
    assert.equal(parseDuration('2\u00b5s'), 0.002);
    assert.equal(parseDuration('2\u03bcs'), 0.002);
    assert.equal(parseDuration('100ns'), 0.0001);
    assert.equal(parseDuration('1.5ms'), 1.5);
  });

  it('accepts days as a convenience', () => {
    assert.equal(parseDuration('30d'), 30 * 24 * H);
    assert.equal(parseDuration('1d12h'), 36 * H);
  });

  // Cases from Go's time.TestParseDuration (src/time/time_test.go), as nanoseconds.
  const goCases: [string, bigint][] = [
    ['0', 0n],
    ['5s', 5_000_000_000n],
    ['1478s', 1_478_000_000_000n],
    ['-5s', -5_000_000_000n],
    ['+5s', 5_000_000_000n],
    ['-0', 0n],
    ['+0', 0n],
    ['5.0s', 5_000_000_000n],
    ['5.6s', 5_600_000_000n],
    ['5.s', 5_000_000_000n],
    ['.5s', 500_000_000n],
    ['1.004s', 1_004_000_000n],
    ['1.0040s', 1_004_000_000n],
    ['100.00100s', 100_001_000_000n],
    ['10ns', 10n],
    ['11us', 11_000n],
    ['12\u00b5s', 12_000n],
    ['13ms', 13_000_000n],
    ['15m', 900_000_000_000n],
    ['16h', 57_600_000_000_000n],
    ['3h30m', 12_600_000_000_000n],
    ['10.5s4m', 250_500_000_000n],
    ['-2m3.4s', -123_400_000_000n],
    ['1h2m3s4ms5us6ns', 3_723_004_005_006n],
    ['39h9m14.425s', 140_954_425_000_000n],
    ['52763797000ns', 52_763_797_000n],
    ['0.3333333333333333333h', 1_200_000_000_000n],
    ['9007199254740993ns', 9_007_199_254_740_993n],
    ['9223372036854775807ns', 9_223_372_036_854_775_807n],
    ['9223372036854775.807us', 9_223_372_036_854_775_807n],
    ['9223372036854ms775us807ns', 9_223_372_036_854_775_807n],
    ['-9223372036854775808ns', -9_223_372_036_854_775_808n],
    ['-9223372036854775.808us', -9_223_372_036_854_775_808n],
    ['0.100000000000000000000h', 360_000_000_000n],
    ['0.830103483285477580700h', 2_988_372_539_827n],
  ];
  for (const [text, ns] of goCases) {
    it(`matches Go for ${JSON.stringify(text)}`, () => assert.equal(parseDurationNs(text), ns));
  }

  const garbage = ['', ' ', '3', '-', 's', '.', '-.', '.s', '+.s', '1x', '1h 30m', '--1s', '1e3s', 'abc', '1.2.3s', 'h1', '1H',
    '\u0085\u0085', '9223372036854775810ns', '9223372036854775808ns', '-9223372036854775809ns', '9223372036854776us',
    '3000000h', '9223372036854775.808us', '9223372036854ms775us808ns', '1'.repeat(5000) + 's'];
  for (const text of garbage) {
    it(`refuses ${JSON.stringify(text.length > 30 ? text.slice(0, 30) + '…' : text)} with a DurationError naming it`, () => {
      assert.throws(() => parseDuration(text), (e: unknown) => e instanceof DurationError && e.message.startsWith('not a duration: '));
      assert.equal(tryParseDuration(text), undefined);
    });
  }
});

describe('formatDuration', () => {
  it('writes Go text like CrowdSec', () => {
    assert.equal(formatDuration(3 * H + 59 * M + 57 * S), '3h59m57s');
    assert.equal(formatDuration(4 * H), '4h0m0s');
    assert.equal(formatDuration(M), '1m0s');
    assert.equal(formatDuration(-1000), '-1s');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(1.5), '1.5ms');
    assert.equal(formatDuration(0.002), '2\u00b5s');
    assert.equal(formatDuration(0.0001), '100ns');
    assert.equal(formatDuration(1500), '1.5s');
    assert.equal(formatDuration(-(18897 * H + 25 * M + 52 * S)), '-18897h25m52s');
    assert.equal(formatDuration(30 * 24 * H), '720h0m0s');
  });

  it('refuses NaN and infinities', () => {
    assert.throws(() => formatDuration(Number.NaN), RangeError);
    assert.throws(() => formatDuration(Number.POSITIVE_INFINITY), RangeError);
  });

  it('reproduces real LAPI strings exactly through the nanosecond API', () => {
    for (const s of ['22h20m11.909761348s', '-18897h25m52.809576151s', '167h59m20.890999684s', '3h38m32.349736035s', '-75h34m54.509128301s']) {
      assert.equal(formatDurationNs(parseDurationNs(s)), s);
    }
  });
});

describe('duration fuzz', () => {
  // A small deterministic PRNG so a failure can be replayed.
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const randBig = (max: bigint) => (BigInt(Math.floor(rand() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(rand() * 2 ** 32))) % max;

  it('round-trips any int64 nanosecond count through text', () => {
    for (let i = 0; i < 5000; i++) {
      const magnitude = [1_000n, 1_000_000_000n, 10n ** 13n, 2n ** 63n - 1n][i % 4]!;
      const ns = rand() < 0.5 ? -randBig(magnitude) : randBig(magnitude);
      const text = formatDurationNs(ns);
      assert.equal(parseDurationNs(text), ns, text);
    }
  });

  it('round-trips whole milliseconds across the whole range', () => {
    for (let i = 0; i < 5000; i++) {
      const ms = Math.round((rand() * 2 - 1) * 10 ** Math.floor(rand() * 13));
      assert.equal(parseDuration(formatDuration(ms)), ms || 0);
    }
  });

  it('parses composed Go strings to the sum of their parts', () => {
    const units: [string, bigint][] = [['h', 3_600_000_000_000n], ['m', 60_000_000_000n], ['s', 1_000_000_000n], ['ms', 1_000_000n], ['us', 1_000n], ['ns', 1n], ['d', 86_400_000_000_000n]];
    for (let i = 0; i < 2000; i++) {
      let text = '';
      let ns = 0n;
      const parts = 1 + Math.floor(rand() * 4);
      for (let p = 0; p < parts; p++) {
        const [unit, size] = units[Math.floor(rand() * units.length)]!;
        const n = BigInt(Math.floor(rand() * 1000));
        text += `${n}${unit}`;
        ns += n * size;
      }
      const negative = rand() < 0.3;
      assert.equal(parseDurationNs((negative ? '-' : '') + text), negative ? -ns : ns, text);
    }
  });

  it('either parses random junk to a finite number or throws DurationError', () => {
    const alphabet = '0123456789.hmsunµd+- x';
    for (let i = 0; i < 20000; i++) {
      let text = '';
      const len = Math.floor(rand() * 12);
      for (let k = 0; k < len; k++) text += alphabet[Math.floor(rand() * alphabet.length)];
      try {
        const ms = parseDuration(text);
        assert.ok(Number.isFinite(ms), text);
        // Whatever parsed must print back to something that parses to the same value.
        assert.equal(parseDuration(formatDuration(ms)), ms, text);
      } catch (e) {
        assert.ok(e instanceof DurationError, `${JSON.stringify(text)}: ${String(e)}`);
      }
    }
  });
});
