import type { Target } from '../../net/ip.js';
import type { ListHeader } from '../types.js';
import { parseToken } from '../../net/fast-target.js';

export type LineVerdict =
  | { readonly kind: 'entry'; readonly target: Target }
  | { readonly kind: 'comment' }
  | { readonly kind: 'blank' }
  | { readonly kind: 'skip'; readonly why: string }
  | { readonly kind: 'below'; readonly score: number };

export const COMMENT: LineVerdict = { kind: 'comment' };
export const BLANK: LineVerdict = { kind: 'blank' };

export interface LineContext {
  readonly minScore: number;
  /** Filled from comment lines as the parser meets them. */
  readonly header: ListHeader;
}

/** One format's reading of one line. `line` has no line terminator but may have surrounding blanks. */
export type LineParser = (line: string, ctx: LineContext) => LineVerdict;

export function skip(why: string): LineVerdict {
  return { kind: 'skip', why };
}

export function isBlankChar(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 0xa0 || c === 0xfeff;
}

/** A single address/range token, or a skip verdict saying why the token is not one. */
export function tokenVerdict(token: string): LineVerdict {
  if (hasBlank(token)) return skip('more than one field on the line');
  const target = parseToken(token);
  return target === undefined ? skip('not an IP address or CIDR range') : { kind: 'entry', target };
}

export function hasBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isBlankChar(s.charCodeAt(i))) return true;
  return false;
}

const DECLARED_ENTRIES = /^\s*Entries\s*:\s*(\d+)/i;
const DATE_LINE = /^\s*(?:This File Date|Last-Modified|Last update)\s*:\s*(.+?)\s*$/i;

/** Reads the self-description FireHOL, Spamhaus and IPsum put in their comment headers. */
export function readHeaderComment(comment: string, header: ListHeader): void {
  if (header.declaredEntries === undefined) {
    const m = DECLARED_ENTRIES.exec(comment);
    if (m) header.declaredEntries = Number(m[1]);
  }
  if (header.date === undefined) {
    const m = DATE_LINE.exec(comment);
    if (m) header.date = m[1];
  }
}
