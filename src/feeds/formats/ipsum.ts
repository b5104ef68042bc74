import { BLANK, COMMENT, isBlankChar, readHeaderComment, skip, tokenVerdict, type LineContext, type LineVerdict } from './common.js';

/** IPsum scored feed: `IP<TAB>count`, where count is how many blocklists carry the IP; `#` header. */
export function parseIpsumLine(line: string, ctx: LineContext): LineVerdict {
  const data = line.trim();
  if (data.length === 0) return BLANK;
  if (data.charCodeAt(0) === 35 /* # */) {
    readHeaderComment(data.slice(1), ctx.header);
    return COMMENT;
  }
  let gap = 0;
  while (gap < data.length && !isBlankChar(data.charCodeAt(gap))) gap++;
  if (gap === data.length) return skip('no score after the address (expected "IP<TAB>count")');
  const scoreText = data.slice(gap).trim();
  if (!/^\d{1,9}$/.test(scoreText)) return skip('score is not a whole number');
  const score = Number(scoreText);
  const verdict = tokenVerdict(data.slice(0, gap));
  if (verdict.kind !== 'entry') return verdict;
  return score >= ctx.minScore ? verdict : { kind: 'below', score };
}
