import { BLANK, COMMENT, readHeaderComment, skip, tokenVerdict, type LineContext, type LineVerdict } from './common.js';

/**
 * Spamhaus DROP/EDROP, both generations:
 *  - text: `; comment` lines and `1.10.16.0/20 ; SBL256894`;
 *  - JSON lines (2024+): `{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}` per entry and one
 *    `{"type":"metadata","timestamp":…,"records":…}` line, which is counted as a comment.
 */
export function parseSpamhausDropLine(line: string, ctx: LineContext): LineVerdict {
  const data = line.trim();
  if (data.length === 0) return BLANK;
  const first = data.charCodeAt(0);
  if (first === 123 /* { */) return parseJsonLine(data, ctx);
  if (first === 59 /* ; */ || first === 35 /* # */) {
    readHeaderComment(data.slice(1), ctx.header);
    return COMMENT;
  }
  const semi = data.indexOf(';');
  return tokenVerdict(semi < 0 ? data : data.slice(0, semi).trim());
}

function parseJsonLine(data: string, ctx: LineContext): LineVerdict {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return skip('broken JSON line');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return skip('JSON line is not an object');
  const record = value as Record<string, unknown>;
  if (record['type'] === 'metadata') {
    if (typeof record['records'] === 'number') ctx.header.declaredEntries = record['records'];
    const ts = record['timestamp'];
    if (typeof ts === 'number' && Number.isFinite(ts) && Math.abs(ts) < 1e11) {
      ctx.header.date = new Date(ts * 1000).toISOString();
    }
    return COMMENT;
  }
  const cidr = record['cidr'];
  if (typeof cidr !== 'string') return skip('JSON line has no "cidr" field');
  return tokenVerdict(cidr.trim());
}
