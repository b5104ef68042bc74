import { tryParseTarget } from '../net/ip.js';

export interface ImportLine {
  readonly value: string;
  /** Text after `#` on the same line, used as the decision's reason when none is given. */
  readonly comment: string | undefined;
}

export interface ParsedImport {
  readonly items: ImportLine[];
  readonly skipped: number;
  readonly skippedSamples: { line: number; text: string; why: string }[];
}

/**
 * One IP or CIDR per line, optional `# comment` (or `;`), blank lines and comment lines ignored. A bad
 * line is counted and shown, never fatal: one typo in a 100,000-line file must not stop the other 99,999.
 */
export function parseImportText(text: string): ParsedImport {
  const items: ImportLine[] = [];
  const samples: { line: number; text: string; why: string }[] = [];
  let skipped = 0;
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const raw = text.slice(pos, nl);
    pos = nl + 1;
    lineNo++;
    const hash = raw.search(/[#;]/);
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (body.length === 0) continue;
    const comment = hash >= 0 ? raw.slice(hash + 1).trim() || undefined : undefined;
    const token = body.split(/[\s,]+/)[0]!;
    const t = tryParseTarget(token);
    if (!t || body.split(/[\s,]+/).length > 1) {
      skipped++;
      if (samples.length < 10) samples.push({ line: lineNo, text: raw.slice(0, 80), why: t ? 'unexpected text after the address' : 'not an IP address or CIDR range' });
      continue;
    }
    items.push({ value: t.text, comment });
  }
  return { items, skipped, skippedSamples: samples };
}
