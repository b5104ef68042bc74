import { LineTally, type LineCounts, type LineSample } from '../../feeds/index.js';
import { LINE_PARSERS, type DomainLineParser, type DomainListFormat, type NameOutcome, type RuleSink } from './formats.js';
import { suffixHashes, suffixScratch } from './hash.js';
import { isWellKnownLocal, normalizeName, SINGLE_LABEL } from './name.js';
import { RuleSet, type RuleArrays } from './rules.js';

/**
 * A parsed block or allow list. Every line is counted once:
 * lines = comments + blank + dataLines, dataLines = lines that gave rules + ignored + skipped + unsupported.
 * `skipped` counts data lines that gave nothing (bad syntax, bad name, a rule DNS cannot express); `skippedSamples`
 * also samples bad names on lines that otherwise gave rules.
 */
export interface ParsedDomainList extends LineCounts {
  readonly format: DomainListFormat;
  readonly rules: RuleArrays;
  /** Distinct names with at least one rule. */
  readonly names: number;
  readonly blockRules: number;
  readonly allowRules: number;
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

const ANY_LABELS = { allowSingleLabel: true };

/**
 * Incremental domain list parser, fed text chunks as they arrive (fetchFeed's textSink): lines are cut by
 * feeds' LineSplitter, each name is validated, hashed and deduplicated at once, so a million-line list never exists as
 * lines or name strings — only as 9 bytes per name.
 */
export class DomainListParser implements RuleSink {
  private readonly lineParser: DomainLineParser;
  private readonly set: RuleSet;
  private readonly scratch = suffixScratch();
  private readonly unsupportedSamples: LineSample[] = [];
  private unsupported = 0;
  private readonly tally: LineTally;
  private ignored = 0;
  private duplicates = 0;
  private badNames = 0;
  private currentLine = '';

  constructor(readonly format: DomainListFormat, opts: DomainParseOptions = {}) {
    const parser = LINE_PARSERS[format];
    if (parser === undefined) throw new Error(`unknown domain list format ${JSON.stringify(format)} (known: ${Object.keys(LINE_PARSERS).join(', ')})`);
    this.lineParser = parser;
    this.tally = new LineTally('DomainListParser', opts.sampleLimit ?? 10, (line) => this.line(line));
    this.set = new RuleSet(opts.expectedNames);
  }

  push(chunk: string): void {
    this.tally.push(chunk);
  }

  end(): ParsedDomainList {
    return {
      ...this.tally.end(),
      format: this.format,
      rules: this.set.compact(),
      names: this.set.size,
      blockRules: this.set.blockRules,
      allowRules: this.set.allowRules,
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
    this.tally.sample(this.tally.skippedSamples, this.currentLine, `${JSON.stringify(rawName)}: ${why}`);
  }

  private line(line: string): void {
    this.currentLine = line;
    const v = this.lineParser(line, this);
    switch (v.kind) {
      case 'rules':
        return;
      case 'comment':
        this.tally.comments++;
        return;
      case 'blank':
        this.tally.blank++;
        return;
      case 'ignored':
        this.ignored++;
        return;
      case 'skip':
        this.tally.skip(line, v.why);
        return;
      case 'unsupported':
        this.unsupported++;
        this.tally.sample(this.unsupportedSamples, line, v.why);
        return;
    }
  }
}

/** Parses a whole list held in memory. Bad lines are counted and sampled, never thrown. */
export function parseDomainList(text: string, format: DomainListFormat, opts?: DomainParseOptions): ParsedDomainList {
  const p = new DomainListParser(format, opts);
  p.push(text);
  return p.end();
}
