/**
 * Seeded generator of hostile and boundary inputs for decisions: durations, values, scopes, directions and
 * labels, as an admin, an import file, a watcher, an upstream CrowdSec LAPI or a list feed could send them.
 * Pure and deterministic: the same seed gives the same sequence, so a failing run is replayed with
 * GATEHOUSE_FUZZ_SEED=<seed>. No I/O here; the e2e test feeds the output to the daemon.
 */
import { covers, tryParseTarget, type Target } from '../../../src/net/ip.js';

/** mulberry32: tiny, fast, good enough to pick test inputs (not for anything secret). */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[this.int(xs.length)]!;
  }
}

/** The seed from GATEHOUSE_FUZZ_SEED (decimal), else a fresh one; callers print it. */
export function fuzzSeed(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const given = env.GATEHOUSE_FUZZ_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`GATEHOUSE_FUZZ_SEED must be an integer 0-4294967295, got ${JSON.stringify(given)}`);
    return n;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** What the generator must know about the network it runs against. */
export interface FuzzContext {
  /**
   * Ranges random values must not overlap (the LAN, the gateway, the lab's servers, the fresh-check pool):
   * only the explicit boundary values below may hit them, so a cut-off can be traced to one of those.
   */
  readonly avoid: readonly string[];
  /** Addresses worth trying on purpose: the LAN, the gateway's own addresses, a LAN client. */
  readonly sensitive: readonly string[];
}

// ------------------------------------------------------------------------------------------- durations

/** Durations as text (CLI flags, Go durations from CrowdSec, alert fields): the boundaries of finding 1. */
export const BOUNDARY_DURATIONS: readonly string[] = [
  '0', '0s', '-1s', '-0s', '+5s', '1ns', '999999ns', '1us', '1µs', '1μs', '1ms', '999ms', '1s', '1.5s', '.5s', '5.s',
  '0.000000001s', '99999999s', '100000000s', '1157d', '1158d', '27776h', '27777h', '30000h', '30000h0m0s',
  '3h59m57.907921681s', '-18897h25m52.809576151s', '2562047h47m16.854775807s', '2562047h47m16.854775808s',
  '-2562047h47m16.854775808s', '9223372036854775807ns', '9223372036854775808ns', '106751d', '106752d',
  '1e308', '1e15', '4294967296', '4294967296s', '1e3s', 'NaN', 'Infinity', '-Infinity', 'inf', 'nan s',
  '1h-1m', '1h 30m', ' 1h', '1h ', '1H', '1hour', '1d1h1m1s1ms1us1ns', '0.3333333333333333333h', '1.h',
  '', ' ', 'h', '1', '60', 'soon', '∞', '١h', '1\u0000h', '5m\n5m', '9'.repeat(40) + 's', '0x10s', '1_000s',
];

/**
 * The durations of finding 1 (more than nft 1.0.6 takes: `timeout 100000000s` is refused). Each batch leads
 * with one of them on a valid value, so every entry point meets the kernel's limit whatever the seed.
 */
export const KERNEL_LIMIT_DURATIONS: readonly string[] = [
  '1158d', '100000000s', '30000h', '30000h0m0s', '2562047h47m16.854775807s', '9223372036854775807ns', '106751d', '27778h',
];
export const KERNEL_LIMIT_JSON: readonly string[] = ['1e308', '1e15', '4294967296', '100000000', '9007199254740993', '1.7976931348623157e308'];

const UNITS = ['ns', 'us', 'µs', 'ms', 's', 'm', 'h', 'd'] as const;

function randomDigits(r: Rng, max: number): string {
  return String(r.between(0, max));
}

/** A random duration text: mostly well-formed unit mixes of any size, sometimes broken. */
export function durationText(r: Rng): string {
  if (r.chance(0.45)) return r.pick(BOUNDARY_DURATIONS);
  const parts = r.between(1, 4);
  let s = r.chance(0.1) ? '-' : '';
  for (let i = 0; i < parts; i++) {
    const size = r.pick([9, 99, 999, 99999, 99999999, 4294967296, Number.MAX_SAFE_INTEGER]);
    s += randomDigits(r, size);
    if (r.chance(0.2)) s += `.${randomDigits(r, 999999999)}`;
    s += r.chance(0.05) ? r.pick(['x', 'hh', 'sec', '']) : r.pick(UNITS);
  }
  return s;
}

/**
 * Durations as raw JSON tokens (admin API bodies and import queries take numbers of seconds too):
 * numbers the kernel cannot hold, numbers JSON turns into Infinity, and wrong types.
 */
export const BOUNDARY_JSON_DURATIONS: readonly string[] = [
  '0', '-1', '0.5', '1e-9', '1e-400', '1', '60', '99999999', '100000000', '4294967295', '4294967296', '1e15', '1e308',
  '1e400', '-1e400', '9007199254740993', '1.7976931348623157e308', 'null', 'true', '[]', '{}', '"NaN"', '"Infinity"',
];

export function durationJson(r: Rng): string {
  if (r.chance(0.4)) return r.pick(BOUNDARY_JSON_DURATIONS);
  if (r.chance(0.5)) return JSON.stringify(durationText(r));
  const mag = r.pick([1, 1e3, 1e6, 1e8, 1e9, 1e12, 1e18, 1e300]);
  return String((r.chance(0.1) ? -1 : 1) * Math.round(r.next() * mag * 1000) / 1000);
}

// ---------------------------------------------------------------------------------------------- values

function v4(r: Rng): string {
  return [r.between(1, 223), r.int(256), r.int(256), r.between(1, 254)].join('.');
}

function v6(r: Rng): string {
  // Global unicast 2000::/3 with a random tail; 2001:db8::/32 is the lab's, left to the boundary list.
  const groups = [(0x2000 + r.int(0x2000)).toString(16), ...Array.from({ length: 7 }, () => r.int(0x10000).toString(16))];
  return groups.join(':');
}

function overlapsAny(t: Target, avoid: readonly Target[]): boolean {
  return avoid.some((a) => a.family === t.family && (covers(a, t) || covers(t, a)));
}

/** Values a sloppy or hostile source could send: every prefix length, odd spellings, garbage. */
export function boundaryValues(ctx: FuzzContext): string[] {
  return [
    '0.0.0.0/0', '::/0', '0.0.0.0/1', '128.0.0.0/1', '::/1', '8000::/1', '0.0.0.0', '::', '255.255.255.255', '127.0.0.1',
    '::1', '224.0.0.1', 'ff02::1', 'fe80::1', 'fe80::1%eth0', 'fe80::1%25wan0', '169.254.169.254', '100.64.0.1',
    '::ffff:10.77.0.10', '::ffff:0:0/96', '::ffff:8.8.8.8', '::FFFF:8.8.4.4', '::ffff:8.8.8.0/120', '64:ff9b::8.8.8.8',
    '8.8.8.8/32', '8.8.8.8/33', '8.8.8.8/-1', '8.8.8.8/', '8.8.8.8/024', '8.8.8.8/ 24', '8.8.8.9/24', '2a00:1450::1/129',
    '2A00:1450:4001:0829:0000:0000:0000:200E', '2a00:1450:4001:829::200e/128', '[2a00::1]', '8.8.8.8:53', '008.008.008.008',
    '8.8.8', '8.8.8.8.8', '0x08.8.8.8', '134744072', '8.8.8.8 ', ' 8.8.8.8', '8.8.8.8\n9.9.9.9', '8.8.8.8,9.9.9.9',
    '8.8.8.8;9.9.9.9', '1.1.1.1 # comment', '١.١.١.١', '', ' ', '-', '--force', '-8.8.8.8', 'localhost', 'example.com',
    'a'.repeat(65), '1'.repeat(4096), '1.1.1.1' + ' '.repeat(100), '\u0000', '$(reboot)', '1.1.1.1; flush ruleset',
    '{ 1.1.1.1 }', '1.1.1.1 } ; add rule', '"1.1.1.1"', 'null', ...ctx.sensitive,
  ];
}

/** A random host or CIDR of any prefix length, never overlapping `ctx.avoid`. */
export function randomTarget(r: Rng, ctx: FuzzContext): string {
  const avoid = ctx.avoid.map((a) => tryParseTarget(a)).filter((t): t is Target => t !== undefined);
  for (let attempt = 0; attempt < 200; attempt++) {
    const six = r.chance(0.35);
    const host = six ? v6(r) : v4(r);
    const len = r.chance(0.5) ? undefined : r.between(0, six ? 128 : 32);
    const text = len === undefined ? host : `${host}/${len}`;
    const t = tryParseTarget(text);
    if (t && !overlapsAny(t, avoid)) return text;
  }
  return '203.0.113.254'; // Unreachable in practice: the avoid list is a handful of small ranges.
}

/** Non-canonical spellings of a valid random value (the daemon must canonicalise, not duplicate). */
function respell(r: Rng, text: string): string {
  const t = tryParseTarget(text);
  if (!t) return text;
  if (t.family === 4 && t.isHost) return r.pick([`::ffff:${text}`, `${text}/32`, `::FFFF:${text}`, ` ${text} `]);
  if (t.family === 6) return r.pick([text.toUpperCase(), text.replace(/(^|:)0+([0-9a-f])/g, '$1$2'), ` ${text}`]);
  return text;
}

export function valueText(r: Rng, ctx: FuzzContext): string {
  const roll = r.next();
  if (roll < 0.3) return r.pick(boundaryValues(ctx));
  const t = randomTarget(r, ctx);
  return roll < 0.45 ? respell(r, t) : t;
}

// -------------------------------------------------------------------------------- scopes, directions, labels

export const SCOPES: readonly string[] = ['Ip', 'Range', 'ip', 'range', 'IP', 'RANGE', 'Username', 'Country', 'AS', 'session', '', ' Ip', 'Ip\n'];
export const TYPES: readonly string[] = ['ban', 'Ban', 'BAN', 'captcha', 'throttle', '', 'ban ', 'allow'];
export const DIRECTIONS: readonly string[] = ['inbound', 'outbound', 'both', 'Inbound', 'in', 'out', '', 'sideways', 'both\n'];

/** Origins, scenarios and reasons with characters that break naive quoting, logs and nft scripts. */
export function labelText(r: Rng): string {
  return r.pick([
    'crowdsecurity/ssh-bf', 'cscli', 'CAPI', 'lists:firehol', '', ' ', 'a'.repeat(600), 'ü-ñ-漢字-😀', 'line1\nline2', 'tab\there',
    '"quoted"', "it's", 'back\\slash', '$(id)', '`id`', '; flush ruleset', '} ; delete table inet gatehouse ; {', '<script>',
    '%s%n%x', '\u202e', '\u0000nul', 'feed:x', 'manual', 'lapi:other',
    // What a terminal would obey or a table would show as an extra row: the CLI prints these to the admin.
    '\u001b[2J\u001b[31mALL CLEAR\u001b[0m', '\u001b]0;owned\u0007', '\r203.0.113.1  both  manual  fake row', 'x\n42  192.0.2.99  both  manual',
    '\u009b31m', '\u0008\u0008\u0008', '\u2066isolate\u2069',
  ]);
}

// ------------------------------------------------------------------------------------- composite records

/** One decision as an upstream CrowdSec LAPI (or a watcher's alert) carries it. */
export interface FuzzLapiDecision {
  readonly duration: unknown;
  readonly origin: unknown;
  readonly scenario: unknown;
  readonly scope: unknown;
  readonly type: unknown;
  readonly value: unknown;
  readonly id?: unknown;
}

export function lapiDecision(r: Rng, ctx: FuzzContext, id: number): FuzzLapiDecision {
  const value = valueText(r, ctx);
  const t = tryParseTarget(value);
  // Mostly a consistent scope so that many decisions get far enough to reach the kernel.
  const scope = r.chance(0.7) ? (t && !t.isHost ? 'Range' : 'Ip') : r.pick(SCOPES);
  const wrongType = r.chance(0.05);
  return {
    duration: wrongType ? r.pick<unknown>([3600, null, true, {}]) : durationText(r),
    origin: labelText(r),
    scenario: labelText(r),
    scope: r.chance(0.03) ? 7 : scope,
    type: r.chance(0.85) ? 'ban' : r.pick(TYPES),
    value: r.chance(0.03) ? r.pick<unknown>([null, 16843009, ['1.1.1.1']]) : value,
    ...(r.chance(0.9) ? { id: r.chance(0.05) ? r.pick<unknown>([-1, 1.5, 'x', 2 ** 60]) : id } : {}),
  };
}

/** First octets of IPv4 space no guard should refuse (no private, loopback, CGNAT, link-local, multicast, lab). */
const PUBLIC_V4_FIRST = [1, 2, 5, 8, 9, 23, 31, 37, 45, 62, 77, 80, 91, 104, 141, 151, 176, 185, 193, 212];

/** An ordinary public host, the kind any source may ban: what a long ban is normally about. */
export function publicHost(r: Rng, ctx: FuzzContext): string {
  const avoid = ctx.avoid.map((a) => tryParseTarget(a)).filter((t): t is Target => t !== undefined);
  for (;;) {
    const text = r.chance(0.3) ? v6(r) : [r.pick(PUBLIC_V4_FIRST), r.int(256), r.int(256), r.between(1, 254)].join('.');
    const t = tryParseTarget(text);
    if (t && !overlapsAny(t, avoid)) return text;
  }
}

/** A well-formed decision that only its duration makes hard: the kernel cannot hold it as given. */
export function limitDecision(r: Rng, ctx: FuzzContext, id: number): FuzzLapiDecision {
  return {
    duration: r.pick(KERNEL_LIMIT_DURATIONS), origin: 'CAPI', scenario: 'crowdsecurity/long-ban', scope: 'Ip', type: 'ban', value: publicHost(r, ctx), id,
  };
}

/** Lines of a list file or an import: hosts, ranges, comments, CRLF, garbage, odd whitespace. */
export function listLines(r: Rng, ctx: FuzzContext, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = valueText(r, ctx).replace(/[\r\n]/g, ' ');
    const deco = r.int(10);
    out.push(deco === 0 ? `${v} # ${labelText(r).replace(/[\r\n]/g, ' ')}` : deco === 1 ? `${v}\r` : deco === 2 ? `\t${v};` : v);
  }
  return out;
}
