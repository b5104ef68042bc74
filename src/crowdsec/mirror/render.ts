import { formatDuration } from '../../config/index.js';
import { tryParseTarget, type Family, type Target } from '../../net/ip.js';
import { aggregateCidrs } from './aggregate.js';

/**
 * Blocklist renderings compatible with crowdsecurity/cs-blocklist-mirror (formatters.go, mikrotik.tmpl), so
 * firewalls already configured for the mirror can point at Gatehouse instead. `json` is ours.
 */
export const MIRROR_FORMATS = ['plain_text', 'mikrotik', 'f5', 'juniper', 'json'] as const;
export type MirrorFormat = (typeof MIRROR_FORMATS)[number];

/** What a renderer reads from a decision (a Decision from the store fits). */
export interface MirrorItem {
  readonly value: string;
  readonly family: Family;
  readonly origin: string;
  readonly scenario?: string;
  readonly scope?: 'ip' | 'range';
  /** Epoch ms; null/undefined = no expiry. */
  readonly expiresAt?: number | null;
}

export interface MirrorOptions {
  readonly ipv4only?: boolean;
  readonly ipv6only?: boolean;
  /** Only decisions of this origin (case-insensitive, as the mirror's `?origin=`). */
  readonly origin?: string;
  /** Keep input order instead of sorting by value text. */
  readonly nosort?: boolean;
  /** The items already come sorted by value (the store's index order): stream them, never hold the list. */
  readonly presorted?: boolean;
  /** Merge adjacent/overlapping entries into the fewest CIDRs (every entry then printed as a CIDR). */
  readonly aggregate?: boolean;
  /** mikrotik: address-list name (`?listname=`), default CrowdSec. */
  readonly listName?: string;
  /** For remaining durations (mikrotik timeout, json). */
  readonly now?: number;
}

/** Timeout written for decisions without expiry (RouterOS needs one): a year, in Go duration text. */
const NO_EXPIRY_MS = 365 * 24 * 3600 * 1000;
const CHUNK = 64 * 1024;

interface Row {
  readonly value: string;
  readonly family: Family;
  readonly isRange: boolean;
  readonly origin: string;
  readonly scenario: string;
  readonly expiresAt: number | null;
}

function isRangeItem(d: MirrorItem): boolean {
  return d.scope ? d.scope === 'range' : d.value.includes('/');
}

/** Filters (and aggregates, sorts) the input the way the mirror's registry does before formatting. */
export function selectRows(items: Iterable<MirrorItem>, opts: MirrorOptions = {}): Row[] {
  let rows = [...selected(items, opts)];
  if (opts.aggregate) rows = aggregateRows(rows);
  else if (!opts.nosort && !opts.presorted) rows.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  return rows;
}

/** The items the options let through, as rows, lazily. */
function* selected(items: Iterable<MirrorItem>, opts: MirrorOptions): Generator<Row> {
  const origin = opts.origin?.toLowerCase();
  const now = opts.now ?? Date.now();
  for (const d of items) {
    if (opts.ipv4only && d.family !== 4) continue;
    if (opts.ipv6only && d.family !== 6) continue;
    if (origin !== undefined && d.origin.toLowerCase() !== origin) continue;
    const expiresAt = d.expiresAt ?? null;
    if (expiresAt !== null && expiresAt <= now) continue;
    yield { value: d.value, family: d.family, isRange: isRangeItem(d), origin: d.origin, scenario: d.scenario ?? '', expiresAt };
  }
}

function aggregateRows(rows: readonly Row[]): Row[] {
  const targets: Target[] = [];
  const kept: Row[] = [];
  for (const r of rows) {
    const t = tryParseTarget(r.value);
    if (!t) continue; // not an address: nothing to merge, and no firewall can use it
    targets.push(t);
    kept.push(r);
  }
  return aggregateCidrs(targets).map(({ target, members }) => {
    const ms = members.map((i) => kept[i]!);
    const scenarios = new Set(ms.map((m) => m.scenario));
    const origins = new Set(ms.map((m) => m.origin));
    // The merged entry lasts as long as its longest member; the next fetch of the list corrects it.
    const expiresAt = ms.some((m) => m.expiresAt === null) ? null : Math.max(...ms.map((m) => m.expiresAt!));
    return {
      value: target.isHost ? `${target.text}/${target.prefix}` : target.text,
      family: target.family,
      isRange: true,
      origin: origins.size === 1 ? ms[0]!.origin : 'aggregated',
      scenario: scenarios.size === 1 ? ms[0]!.scenario : 'aggregated',
      expiresAt,
    };
  });
}

/** f5's category: the scenario's name after the author ("crowdsecurity/ssh-bf" → "ssh-bf"), as the mirror does. */
function f5Category(scenario: string): string {
  return scenario.includes('/') ? scenario.split('/')[1]! : scenario;
}

function remaining(r: Row, now: number): string {
  const ms = r.expiresAt === null ? NO_EXPIRY_MS : Math.max(1000, r.expiresAt - now);
  return formatDuration(Math.round(ms / 1000) * 1000);
}

/** RouterOS string literal contents: the mirror doesn't escape; we do, so a scenario can't break the script. */
function ros(s: string): string {
  return s.replace(/[\\"$]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ');
}

function* lines(rows: Iterable<Row>, format: MirrorFormat, opts: MirrorOptions): Generator<string> {
  const now = opts.now ?? Date.now();
  switch (format) {
    case 'plain_text':
      for (const r of rows) yield `${r.value}\n`;
      return;
    case 'juniper':
      for (const r of rows) yield r.isRange ? `${r.value}\n` : `${r.value}${r.family === 6 ? '/128' : '/32'}\n`;
      return;
    case 'f5':
      for (const r of rows) {
        if (r.isRange) {
          const [net, len] = r.value.split('/');
          yield `${net},${len},bl,${f5Category(r.scenario)}\n`;
        } else {
          // 64 for an IPv6 host: what the mirror writes (F5 treats IPv6 hosts per /64).
          yield `${r.value},${r.family === 6 ? 64 : 32},bl,${f5Category(r.scenario)}\n`;
        }
      }
      return;
    case 'mikrotik':
      yield* mikrotik(rows, opts, now);
      return;
    case 'json':
      yield '[';
      let sep = '';
      for (const r of rows) {
        yield sep + JSON.stringify({
          value: r.value, scope: r.isRange ? 'Range' : 'Ip', origin: r.origin, scenario: r.scenario,
          expires_at: r.expiresAt === null ? null : new Date(r.expiresAt).toISOString(),
          duration: r.expiresAt === null ? null : remaining(r, now),
        });
        sep = ',';
      }
      yield ']\n';
      return;
  }
}

/** Byte-for-byte the output of the mirror's text/template (its whitespace trimming included). */
function* mikrotik(rows: Iterable<Row>, opts: MirrorOptions, now: number): Generator<string> {
  const list = opts.listName && opts.listName !== '' ? opts.listName : 'CrowdSec';
  const fn = 'CrowdSecAddIP';
  const header = (v6: boolean) => {
    const p = v6 ? '/ipv6' : '/ip';
    const f = v6 ? `${fn}v6` : fn;
    return `\n${p}/firewall/address-list/remove [ find where list="${list}" ];\n:global ${f};\n:set ${f} do={\n` +
      `    :do { ${p}/firewall/address-list/add list=${list} address=$1 comment="$2" timeout=$3; } on-error={ }\n}\n`;
  };
  if (!opts.ipv6only) yield header(false);
  if (!opts.ipv4only) yield header(true);
  for (const r of rows) {
    yield `$${fn}${r.value.includes(':') ? 'v6' : ''} "${ros(r.value)}" "${ros(r.scenario)}" "${remaining(r, now)}"\n`;
  }
  if (!opts.ipv6only) yield `\n:set ${fn};`;
  if (!opts.ipv4only) yield `\n:set ${fn}v6;`;
}

/** Output in chunks of ~64 KiB (for streaming a million entries); nothing when the selection is empty. */
export function* renderMirrorChunks(items: Iterable<MirrorItem>, format: MirrorFormat, opts: MirrorOptions = {}): Generator<string> {
  const rows = opts.aggregate || !(opts.nosort || opts.presorted) ? selectRows(items, opts) : nonEmpty(selected(items, opts));
  if (rows === undefined || (Array.isArray(rows) && rows.length === 0)) return;
  let buf = '';
  for (const l of lines(rows, format, opts)) {
    buf += l;
    if (buf.length >= CHUNK) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

/** The rows again, or undefined when there is none (so nothing, not even a header, is written). */
function nonEmpty(rows: Generator<Row>): Iterable<Row> | undefined {
  const first = rows.next();
  if (first.done) return undefined;
  return (function* () {
    yield first.value;
    yield* rows;
  })();
}

/** The whole rendering as one string ('' when nothing is selected: the mirror answers 404 then). */
export function renderMirror(items: Iterable<MirrorItem>, format: MirrorFormat, opts: MirrorOptions = {}): string {
  let s = '';
  for (const c of renderMirrorChunks(items, format, opts)) s += c;
  return s;
}

export function isMirrorFormat(s: string): s is MirrorFormat {
  return (MIRROR_FORMATS as readonly string[]).includes(s);
}
