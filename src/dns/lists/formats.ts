import { isIP } from 'node:net';
import { ALLOW_EXACT, ALLOW_SUBTREE, BLOCK_EXACT, BLOCK_SUBTREE } from './rules.js';

/*
 * One line of each list format → rules. Line parsers know the syntax; the sink validates and stores names.
 *
 *  hosts    `0.0.0.0 name [name…] [# comment]`: EXACT names (the hosts file never covered subdomains).
 *           Any address is accepted (the answer comes from the block policy, not the file); the localhost
 *           preamble (localhost, broadcasthost, ip6-*) is ignored.
 *  domains  one name per line, `#` comments: the name AND its subdomains (`*.name` says the same).
 *  adblock  the whole-domain subset DNS filters share (Pi-hole, AdGuard Home): `||name^` blocks the name
 *           and its subdomains, `|name^` only the name, `@@` in front turns either into an exception that
 *           wins over blocks; `||*.name^` = `||name^`; a trailing `|` is allowed. `!` and `#` comments and
 *           `[Adblock Plus 2.0]` headers are comments. Everything else (modifiers `$…`, paths, partial
 *           names, regexes, cosmetic `##` rules) describes URLs or pages, not names: skipped and counted.
 */

export const DOMAIN_LIST_FORMATS = ['hosts', 'domains', 'adblock'] as const;
export type DomainListFormat = (typeof DOMAIN_LIST_FORMATS)[number];

/** What became of one name handed to the sink. */
export type NameOutcome = 'added' | 'duplicate' | 'ignored' | { readonly why: string };

export interface RuleSink {
  /** Validates, hashes and stores one rule. */
  rule(rawName: string, flag: number, allowSingleLabel: boolean): NameOutcome;
  /** A bad name on a line that still gave rules (a hosts line with several names). */
  badName(rawName: string, why: string): void;
}

export type LineVerdict =
  | { readonly kind: 'blank' | 'comment' | 'rules' | 'ignored' }
  /** Malformed: a bad name, a line that is not this format at all. Counts towards the garbage guard. */
  | { readonly kind: 'skip'; readonly why: string }
  /** Well-formed in its format but not expressible as a DNS rule (adblock URL rules): counted, not garbage. */
  | { readonly kind: 'unsupported'; readonly why: string };

export const BLANK: LineVerdict = { kind: 'blank' };
export const COMMENT: LineVerdict = { kind: 'comment' };
export const RULES: LineVerdict = { kind: 'rules' };
export const IGNORED: LineVerdict = { kind: 'ignored' };

export type DomainLineParser = (line: string, sink: RuleSink) => LineVerdict;

const skip = (why: string): LineVerdict => ({ kind: 'skip', why });
const unsupported = (why: string): LineVerdict => ({ kind: 'unsupported', why });

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 11 || c === 12;
}

/** [from, to) without surrounding whitespace; from === to for an empty line. */
function trimmed(line: string): [number, number] {
  let from = 0;
  let to = line.length;
  while (from < to && isSpace(line.charCodeAt(from))) from++;
  while (to > from && isSpace(line.charCodeAt(to - 1))) to--;
  return [from, to];
}

function verdictOf(outcome: NameOutcome): LineVerdict {
  if (outcome === 'added' || outcome === 'duplicate') return RULES;
  if (outcome === 'ignored') return IGNORED;
  return skip(outcome.why);
}

export function parseHostsLine(line: string, sink: RuleSink): LineVerdict {
  let [from, to] = trimmed(line);
  if (from === to) return BLANK;
  if (line.charCodeAt(from) === 35 /* # */) return COMMENT;
  const hash = line.indexOf('#', from);
  if (hash >= 0 && hash < to) {
    to = hash;
    while (to > from && isSpace(line.charCodeAt(to - 1))) to--;
  }
  // Tokens by hand: split() with a regex costs more than the rest of the line's work.
  let i = from;
  while (i < to && !isSpace(line.charCodeAt(i))) i++;
  const address = line.slice(from, i);
  const pct = address.indexOf('%');
  if (isIP(pct >= 0 ? address.slice(0, pct) : address) === 0) {
    return skip('expected an address then names (hosts format: "0.0.0.0 name")');
  }
  let added = 0;
  let ignored = 0;
  let problems: (readonly [string, string])[] | undefined;
  for (;;) {
    while (i < to && isSpace(line.charCodeAt(i))) i++;
    if (i >= to) break;
    const start = i;
    while (i < to && !isSpace(line.charCodeAt(i))) i++;
    const name = line.slice(start, i);
    const outcome = sink.rule(name, BLOCK_EXACT, false);
    if (outcome === 'added' || outcome === 'duplicate') added++;
    else if (outcome === 'ignored') ignored++;
    else (problems ??= []).push([name, outcome.why]);
  }
  if (added > 0) {
    for (const [name, why] of problems ?? []) sink.badName(name, why);
    return RULES;
  }
  const problem = problems?.[0];
  if (problem !== undefined) return skip(`${JSON.stringify(problem[0])}: ${problem[1]}`);
  if (ignored > 0) return IGNORED;
  return skip('an address without a name');
}

export function parseDomainsLine(line: string, sink: RuleSink): LineVerdict {
  let [from, to] = trimmed(line);
  if (from === to) return BLANK;
  if (line.charCodeAt(from) === 35) return COMMENT;
  const hash = line.indexOf('#', from);
  if (hash >= 0 && hash < to) {
    to = hash;
    while (to > from && isSpace(line.charCodeAt(to - 1))) to--;
  }
  for (let i = from; i < to; i++) {
    if (isSpace(line.charCodeAt(i))) return skip('more than one word on the line (a hosts file? then say format: hosts)');
  }
  let name = line.slice(from, to);
  let single = false;
  if (name.startsWith('*.')) {
    name = name.slice(2);
    single = true;
  }
  return verdictOf(sink.rule(name, BLOCK_SUBTREE, single));
}

export function parseAdblockLine(line: string, sink: RuleSink): LineVerdict {
  const [from, to] = trimmed(line);
  if (from === to) return BLANK;
  const first = line.charCodeAt(from);
  if (first === 33 /* ! */) return COMMENT;
  let rule = line.slice(from, to);
  if (first === 91 /* [ */ && rule.endsWith(']')) return COMMENT; // [Adblock Plus 2.0]
  if (rule.includes('##') || rule.includes('#@#') || rule.includes('#?#') || rule.includes('#$#') || rule.includes('#%#')) {
    return unsupported('cosmetic (element hiding) rule, not a name');
  }
  if (first === 35 /* # */) return COMMENT;
  // An error page instead of the list: what the garbage guard must see.
  if (first === 60 /* < */) return skip('markup (an HTML page instead of the list?)');
  let allow = false;
  if (rule.startsWith('@@')) {
    allow = true;
    rule = rule.slice(2);
  }
  if (rule.includes('$')) return unsupported('rule with modifiers ($…): applies to some requests, not to a whole name');
  if (rule.startsWith('/') && rule.length > 1 && rule.endsWith('/')) return unsupported('regular expression rule');
  let subtree: boolean;
  if (rule.startsWith('||')) {
    subtree = true;
    rule = rule.slice(2);
  } else if (rule.startsWith('|')) {
    subtree = false;
    rule = rule.slice(1);
  } else {
    return unsupported('not a whole-name rule (expected ||name^ or @@||name^)');
  }
  if (rule.endsWith('^|')) rule = rule.slice(0, -1);
  if (!rule.endsWith('^')) {
    return unsupported(rule.includes('/') ? 'rule with a path: matches some URLs, not a whole name' : 'no ^ after the name: matches URL prefixes, not a whole name');
  }
  rule = rule.slice(0, -1);
  if (rule.includes('/') || rule.includes(':')) return unsupported('rule with a scheme, port or path: matches some URLs, not a whole name');
  let single = subtree;
  if (rule.startsWith('*.')) {
    if (!subtree) return unsupported('|*.name^ mixes an exact anchor with a wildcard');
    rule = rule.slice(2);
    single = true;
  }
  if (rule.includes('*')) return unsupported('wildcard inside the name: matches partial names');
  if (isIP(rule) !== 0) return unsupported('an address rule: the DNS filter matches names (addresses belong in an IP feed)');
  const flag = allow ? (subtree ? ALLOW_SUBTREE : ALLOW_EXACT) : subtree ? BLOCK_SUBTREE : BLOCK_EXACT;
  return verdictOf(sink.rule(rule, flag, single));
}

export const LINE_PARSERS: Readonly<Record<DomainListFormat, DomainLineParser>> = {
  hosts: parseHostsLine,
  domains: parseDomainsLine,
  adblock: parseAdblockLine,
};
