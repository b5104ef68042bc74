/**
 * Go duration strings, as CrowdSec writes them ("4h", "3h59m57s", "-18897h25m52.809576151s", "1.5ms", "2µs"),
 * plus "d" for days because config files say "30d" far more readably than "720h".
 *
 * Arithmetic runs on BigInt nanoseconds so that nine fractional digits and Go's full int64 range survive;
 * the public face speaks milliseconds (a JS number, fractional below 1 ms) like the rest of the code base.
 */

const NS_PER_MS = 1_000_000n;

const UNIT_NS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // µ MICRO SIGN: what Go prints
  ['\u03bcs', 1_000n], // μ GREEK SMALL LETTER MU: Go accepts it too
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
  ['d', 86_400_000_000_000n],
]);

/** Go's time.Duration is an int64 of nanoseconds; anything outside cannot have come from CrowdSec. */
const MAX_NS = (1n << 63n) - 1n;
const MIN_NS = -(1n << 63n);

export class DurationError extends Error {
  constructor(readonly input: string, why: string) {
    const shown = input.length > 60 ? input.slice(0, 60) + '…' : input;
    super(`not a duration: ${JSON.stringify(shown)} (${why}; write e.g. "30s", "1h30m", "7d")`);
    this.name = 'DurationError';
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * The fractional part of one component, computed the way Go does (leadingFraction + float64 scaling,
 * then truncation) so that "0.3333333333333333333h" gives Go's 20m0s rather than a nanosecond less.
 */
function fractionNs(digits: string, unitNs: bigint): bigint {
  let f = 0n;
  let scale = 1;
  for (const c of digits) {
    // Digits past int64 precision are dropped, as in Go.
    if (f > MAX_NS / 10n) break;
    const next = f * 10n + BigInt(c.charCodeAt(0) - 48);
    if (next > MAX_NS + 1n) break;
    f = next;
    scale *= 10;
  }
  return BigInt(Math.trunc(Number(f) * (Number(unitNs) / scale)));
}

/** Parses a duration to nanoseconds; follows Go's time.ParseDuration grammar, plus the "d" unit. */
export function parseDurationNs(text: string): bigint {
  const s = text.trim();
  let i = 0;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    i = 1;
  }
  const body = s.slice(i);
  if (body === '0') return 0n;
  if (body === '') throw new DurationError(text, 'empty');
  let total = 0n;
  while (i < s.length) {
    const c = s[i];
    if (!(c === '.' || isDigit(c))) throw new DurationError(text, `unexpected ${JSON.stringify(c)} at position ${i + 1}`);
    const intStart = i;
    while (isDigit(s[i])) i++;
    const intDigits = s.slice(intStart, i);
    let fracDigits = '';
    if (s[i] === '.') {
      i++;
      const fracStart = i;
      while (isDigit(s[i])) i++;
      fracDigits = s.slice(fracStart, i);
    }
    if (intDigits === '' && fracDigits === '') throw new DurationError(text, 'a number needs at least one digit');
    const unitStart = i;
    while (i < s.length && s[i] !== '.' && !isDigit(s[i])) i++;
    const unit = s.slice(unitStart, i);
    if (unit === '') throw new DurationError(text, 'missing unit');
    const unitNs = UNIT_NS.get(unit);
    if (unitNs === undefined) throw new DurationError(text, `unknown unit ${JSON.stringify(unit)}; use ns, us, ms, s, m, h or d`);
    // Bound the digit strings before BigInt so a megabyte of digits cannot make us do megabyte arithmetic.
    if (intDigits.length > 20) throw new DurationError(text, 'out of range');
    let part = BigInt(intDigits === '' ? '0' : intDigits) * unitNs;
    if (fracDigits !== '') part += fractionNs(fracDigits, unitNs);
    total += part;
    if (total > MAX_NS + 1n) throw new DurationError(text, 'out of range');
  }
  const signed = negative ? -total : total;
  if (signed > MAX_NS || signed < MIN_NS) throw new DurationError(text, 'out of range');
  return signed;
}

/** Milliseconds for a duration string; negative durations (CrowdSec's expired decisions) stay negative. */
export function parseDuration(text: string): number {
  return nsToMs(parseDurationNs(text));
}

/** Like parseDuration but returns undefined for bad input; for hot loops over untrusted data. */
export function tryParseDuration(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

function nsToMs(ns: bigint): number {
  // Integer part and remainder separately: a plain Number(ns) / 1e6 would lose the ms digits of long durations.
  return Number(ns / NS_PER_MS) + Number(ns % NS_PER_MS) / 1e6;
}

function msToNs(ms: number): bigint {
  if (!Number.isFinite(ms)) throw new RangeError(`duration must be a finite number of milliseconds, got ${ms}`);
  const whole = Math.trunc(ms);
  return BigInt(whole) * NS_PER_MS + BigInt(Math.round((ms - whole) * 1e6));
}

/** Writes the fraction v / 10^prec without trailing zeros (and without the point when it is zero), like Go. */
function splitFrac(v: bigint, prec: number): { rest: bigint; frac: string } {
  const scale = 10n ** BigInt(prec);
  const fracValue = v % scale;
  const rest = v / scale;
  if (fracValue === 0n) return { rest, frac: '' };
  const digits = fracValue.toString().padStart(prec, '0').replace(/0+$/, '');
  return { rest, frac: '.' + digits };
}

/** Go's time.Duration.String for a nanosecond count: "4h0m0s", "3h59m57.5s", "1.5ms", "2µs", "-1s", "0s". */
export function formatDurationNs(ns: bigint): string {
  if (ns === 0n) return '0s';
  const negative = ns < 0n;
  let u = negative ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    const [prec, unit] = u < 1_000n ? [0, 'ns'] : u < 1_000_000n ? [3, '\u00b5s'] : [6, 'ms'];
    const { rest, frac } = splitFrac(u, prec);
    out = `${rest}${frac}${unit}`;
  } else {
    const { rest, frac } = splitFrac(u, 9);
    u = rest;
    out = `${u % 60n}${frac}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m` + out;
      u /= 60n;
      // Stop at hours, as Go does: days differ in length across DST, and CrowdSec prints "18897h".
      if (u > 0n) out = `${u}h` + out;
    }
  }
  return negative ? '-' + out : out;
}

/** Go-style text for milliseconds, e.g. 14_397_000 → "3h59m57s", -1000 → "-1s". Sub-ns digits are rounded. */
export function formatDuration(ms: number): string {
  return formatDurationNs(msToNs(ms));
}
