import { tryParseTarget, type Target } from '../net/ip.js';

export interface ImportLine {
  readonly value: string;
  readonly target: Target;
  /** Text after `#` on the same line, used as the decision's reason when none is given. */
  readonly comment: string | undefined;
  /** 1-based line number in the file, for messages about this line. */
  readonly line: number;
}

export interface ParsedImport {
  readonly items: ImportLine[];
  readonly skipped: number;
  readonly skippedSamples: { line: number; text: string; why: string }[];
}

export interface ImportSkips {
  skipped: number;
  readonly skippedSamples: { line: number; text: string; why: string }[];
}

/**
 * One IP or CIDR per line, optional `# comment` (or `;`), blank lines and comment lines ignored. A bad
 * line is counted and shown, never fatal: one typo in a 100,000-line file must not stop the other 99,999.
 * A generator, so a million-line import never exists as a million objects at once.
 */
export function* iterateImportText(text: string, skips: ImportSkips): Generator<ImportLine> {
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const raw = text.charCodeAt(nl - 1) === 13 ? text.slice(pos, nl - 1) : text.slice(pos, nl);
    pos = nl + 1;
    lineNo++;
    const hash = raw.search(/[#;]/);
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (body.length === 0) continue;
    const comment = hash >= 0 ? raw.slice(hash + 1).trim() || undefined : undefined;
    const fields = body.split(/[\s,]+/);
    const t = tryParseTarget(fields[0]!);
    if (!t || fields.length > 1) {
      skips.skipped++;
      if (skips.skippedSamples.length < 10) {
        skips.skippedSamples.push({ line: lineNo, text: raw.slice(0, 80), why: t ? 'unexpected text after the address' : 'not an IP address or CIDR range' });
      }
      continue;
    }
    yield { value: t.text, target: t, comment, line: lineNo };
  }
}

export function parseImportText(text: string): ParsedImport {
  const skips: ImportSkips = { skipped: 0, skippedSamples: [] };
  const items = [...iterateImportText(text, skips)];
  return { items, skipped: skips.skipped, skippedSamples: skips.skippedSamples };
}
