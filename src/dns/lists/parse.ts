import type { LineSample } from '../../feeds/index.js';
import { LINE_PARSERS, type DomainLineParser, type DomainListFormat, type NameOutcome, type RuleSink } from './formats.js';
import { suffixHashes, suffixScratch } from './hash.js';
import { isWellKnownLocal, normalizeName, SINGLE_LABEL } from './name.js';
import { RuleSet, type RuleArrays } from './rules.js';

/**
 * A parsed block or allow list. Every line is counted once:
 * lines = comments + blank + dataLines, dataLines = lines that gave rules + ignored + skipped + unsupported.
 */
export interface ParsedDomainList {
  readonly format: DomainListFormat;
  readonly rules: RuleArrays;
  /** Distinct names with at least one rule. */
  readonly names: number;
  readonly blockRules: number;
  readonly allowRules: number;
  readonly lines: number;
  readonly dataLines: number;
  readonly comments: number;
  readonly blank: number;
  /** Data lines that gave nothing (bad syntax, bad name, a rule DNS cannot express); never thrown. */
  readonly skipped: number;
  /** Samples of skipped lines and of bad names on lines that otherwise gave rules. */
  readonly skippedSamples: LineSample[];
  /** Well-formed adblock rules DNS cannot express (modifiers, paths, partial names, cosmetic rules); not garbage. */
  readonly unsupported: number;
  readonly unsupportedSamples: LineSample[];
  /** Lines naming only the localhost preamble (localhost, broadcasthost, ip6-allnodes…). */
  readonly ignored: number;
  /** Rules a list repeats (same name, same kind). */
  readonly duplicates: number;
  /** Bad names on lines that still gave other names (hosts lines with several names). */
  readonly badNames: number;
}

export interface DomainParseOptions {
  /** How many skipped lines to keep as samples. Default 10. */
  readonly sampleLimit?: number;
  /** Names expected (the list's previous size): sizes the table once instead of growing it. */
  readonly expectedNames?: number;
}

const SAMPLE_TEXT_MAX = 120;
const ANY_LABELS = { allowSingleLabel: true };
/** No list format has lines anywhere near this long. */
const MAX_LINE = 64 * 1024;

/**
 * Incremental domain list parser, fed text chunks as they arrive (fetchFeed's textSink): lines are cut with
 * indexOf, each name is validated, hashed and deduplicated at once, so a million-line list never exists as
 * lines or name strings — only as 9 bytes per name.
 */
export class DomainListParser implements RuleSink {
  private readonly lineParser: DomainLineParser;
  private readonly sampleLimit: number;
  private readonly set: RuleSet;
  private readonly scratch = suffixScratch();
  private readonly samples: LineSample[] = [];
  private readonly unsupportedSamples: LineSample[] = [];
  private unsupported = 0;
  private pending = '';
  private lineNo = 0;
  private comments = 0;
  private blank = 0;
  private skipped = 0;
  private ignored = 0;
  private duplicates = 0;
  private badNames = 0;
  private ended = false;
  private bomChecked = false;
  private overlong = false;
  private currentLine = '';

  constructor(readonly format: DomainListFormat, opts: DomainParseOptions = {}) {
    const parser = LINE_PARSERS[format];
    if (parser === undefined) throw new Error(`unknown domain list format ${JSON.stringify(format)} (known: ${Object.keys(LINE_PARSERS).join(', ')})`);
    this.lineParser = parser;
    this.sampleLimit = opts.sampleLimit ?? 10;
    this.set = new RuleSet(opts.expectedNames);
  }

  push(chunk: string): void {
    if (this.ended) throw new Error('DomainListParser: push() after end()');
    let text = chunk;
    if (!this.bomChecked && text.length > 0) {
      this.bomChecked = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    if (this.pending.length > 0 || this.overlong) {
      // Only the new chunk is searched, so a long line arriving in many chunks stays linear.
      const nl = text.indexOf('\n');
      if (nl < 0) {
        this.hold(text);
        return;
      }
      this.hold(text.slice(0, nl));
      const held = this.pending;
      this.pending = '';
      this.line(held, 0, held.length);
      start = nl + 1;
    }
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.line(text, start, nl);
      start = nl + 1;
    }
    if (start < text.length) this.hold(text.slice(start));
  }

  end(): ParsedDomainList {
    if (!this.ended) {
      if (this.pending.length > 0 || this.overlong) this.line(this.pending, 0, this.pending.length);
      this.pending = '';
      this.ended = true;
    }
    const lines = this.lineNo;
    return {
      format: this.format,
      rules: this.set.compact(),
      names: this.set.size,
      blockRules: this.set.blockRules,
      allowRules: this.set.allowRules,
      lines,
      dataLines: lines - this.comments - this.blank,
      comments: this.comments,
      blank: this.blank,
      skipped: this.skipped,
      skippedSamples: this.samples,
      unsupported: this.unsupported,
      unsupportedSamples: this.unsupportedSamples,
      ignored: this.ignored,
      duplicates: this.duplicates,
      badNames: this.badNames,
    };
  }

  /** RuleSink: one name from the current line. */
  rule(rawName: string, flag: number, allowSingleLabel: boolean): NameOutcome {
    // Single labels are judged after the preamble check: a hosts line may name 'localhost', not block 'com'.
    if (isWellKnownLocal(rawName)) return 'ignored'; // '0.0.0.0' would fail as a name
    const name = normalizeName(rawName, ANY_LABELS);
    if (typeof name !== 'string') return name;
    if (isWellKnownLocal(name)) return 'ignored';
    if (!allowSingleLabel && name.indexOf('.') < 0) return SINGLE_LABEL;
    const k = suffixHashes(name, this.scratch);
    if (k === 0) return { why: 'too many labels' };
    if (!this.set.add(this.scratch.hi[k - 1]!, this.scratch.lo[k - 1]!, flag)) {
      this.duplicates++;
      return 'duplicate';
    }
    return 'added';
  }

  badName(rawName: string, why: string): void {
    this.badNames++;
    this.sample(this.currentLine, `${JSON.stringify(rawName)}: ${why}`);
  }

  private hold(part: string): void {
    if (this.overlong) return;
    if (this.pending.length + part.length > MAX_LINE) {
      this.overlong = true;
      this.pending = (this.pending + part).slice(0, SAMPLE_TEXT_MAX + 1);
      return;
    }
    this.pending += part;
  }

  private line(text: string, from: number, to: number): void {
    this.lineNo++;
    if (this.overlong || to - from > MAX_LINE) {
      this.overlong = false;
      this.skipped++;
      this.sample(text.slice(from, Math.min(to, from + SAMPLE_TEXT_MAX + 1)), `line longer than ${MAX_LINE / 1024} KiB`);
      return;
    }
    const end = to > from && text.charCodeAt(to - 1) === 13 /* \r */ ? to - 1 : to;
    const line = text.slice(from, end);
    this.currentLine = line;
    const v = this.lineParser(line, this);
    switch (v.kind) {
      case 'rules':
        return;
      case 'comment':
        this.comments++;
        return;
      case 'blank':
        this.blank++;
        return;
      case 'ignored':
        this.ignored++;
        return;
      case 'skip':
        this.skipped++;
        this.sample(line, v.why);
        return;
      case 'unsupported':
        this.unsupported++;
        this.sample(line, v.why, this.unsupportedSamples);
        return;
    }
  }

  private sample(line: string, why: string, into: LineSample[] = this.samples): void {
    if (into.length >= this.sampleLimit) return;
    const t = line.trim();
    const text = t.length > SAMPLE_TEXT_MAX ? t.slice(0, SAMPLE_TEXT_MAX) + '…' : t;
    into.push({ line: this.lineNo, text, why });
  }
}

/** Parses a whole list held in memory. Bad lines are counted and sampled, never thrown. */
export function parseDomainList(text: string, format: DomainListFormat, opts?: DomainParseOptions): ParsedDomainList {
  const p = new DomainListParser(format, opts);
  p.push(text);
  return p.end();
}
