/**
 * Go's time.Duration text, both ways. CrowdSec puts the *remaining* time of a decision on the wire in this
 * form ("3h59m58.235s", "-20.194ms") and bouncers parse it with time.ParseDuration, so the output must be
 * exactly what Go would print for the same value.
 */

/** Formats milliseconds (integer or fractional) the way Go's Duration.String() does. */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`duration must be finite, got ${ms}`);
  if (Number.isInteger(ms) && Math.abs(ms) >= 1000 && Math.abs(ms) < 2 ** 52) return wholeMs(ms);
  // Work in integer nanoseconds so fractional parts print like Go's (no float noise).
  let ns = BigInt(Math.round(ms * 1e6));
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  if (neg) ns = -ns;
  let out: string;
  if (ns < 1_000_000_000n) {
    // Below one second Go switches to the largest unit that keeps an integer part: ms, µs or ns.
    if (ns < 1_000n) out = `${ns}ns`;
    else if (ns < 1_000_000n) out = `${fraction(ns, 1_000n)}µs`;
    else out = `${fraction(ns, 1_000_000n)}ms`;
  } else {
    const totalSec = ns / 1_000_000_000n;
    const h = totalSec / 3600n;
    const m = (totalSec / 60n) % 60n;
    const s = fraction(ns % 60_000_000_000n, 1_000_000_000n);
    out = h > 0n ? `${h}h${m}m${s}s` : m > 0n ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? `-${out}` : out;
}

/** Fast path for whole milliseconds of one second or more: what every stored decision has. */
function wholeMs(ms: number): string {
  const neg = ms < 0;
  const a = neg ? -ms : ms;
  const frac = a % 1000;
  const totalSec = (a - frac) / 1000;
  const sec = totalSec % 60;
  const totalMin = (totalSec - sec) / 60;
  const m = totalMin % 60;
  const h = (totalMin - m) / 60;
  const s = frac === 0 ? `${sec}` : `${sec}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
  const out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  return neg ? `-${out}` : out;
}

/** `n / unit` as a decimal with trailing zeros trimmed, e.g. 1500000n / 1000000n → "1.5". */
function fraction(n: bigint, unit: bigint): string {
  const whole = n / unit;
  const rest = n % unit;
  if (rest === 0n) return whole.toString();
  const digits = unit.toString().length - 1;
  return `${whole}.${rest.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  // Not Go, but CrowdSec accepts days in its duration flags (e.g. "7d") and watchers may send them.
  d: 86_400_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/y;

/** Parses "4h", "1h30m", "1.5h", "-3.2s", "90m", "300ms" into milliseconds; undefined when not a duration. */
export function parseGoDuration(text: string): number | undefined {
  let s = text.trim();
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s.length === 0 || s.length > 64) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return sign * total;
}
