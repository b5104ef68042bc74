import { BLANK, COMMENT, readHeaderComment, tokenVerdict, type LineContext, type LineVerdict } from './common.js';

/**
 * plain, cidr and netset: one address or CIDR per line; `#` and `;` start a comment anywhere on the line.
 * The three differ only in what their publishers promise (FireHOL netsets carry a `#` header with an entry
 * count), so one reader serves all of them; a CIDR in a "plain" list is accepted rather than dropped.
 */
export function parsePlainLine(line: string, ctx: LineContext): LineVerdict {
  const cut = commentStart(line);
  const data = (cut < 0 ? line : line.slice(0, cut)).trim();
  if (data.length === 0) {
    if (cut < 0) return BLANK;
    if (ctx.header.declaredEntries === undefined || ctx.header.date === undefined) {
      readHeaderComment(line.slice(cut + 1), ctx.header);
    }
    return COMMENT;
  }
  return tokenVerdict(data);
}

function commentStart(line: string): number {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 35 /* # */ || c === 59 /* ; */) return i;
  }
  return -1;
}
