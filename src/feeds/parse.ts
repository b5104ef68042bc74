import type { Target } from '../net/ip.js';
import type { LineContext, LineParser } from './formats/common.js';
import { parseIpsumLine } from './formats/ipsum.js';
import { parsePlainLine } from './formats/plain.js';
import { parseSpamhausDropLine } from './formats/spamhaus-drop.js';
import { V4Target } from '../net/fast-target.js';
import { specialReason } from '../net/special.js';
import { broadReason } from '../net/target-guard.js';
import { V4KeySet } from './v4-key-set.js';
import { TargetList } from './target-list.js';
import { LineTally } from './lines.js';
import type { LineSample, ListFormat, ListHeader, ParseOptions, ParsedList } from './types.js';

const LINE_PARSERS: Readonly<Record<ListFormat, LineParser>> = {
  plain: parsePlainLine,
  cidr: parsePlainLine,
  netset: parsePlainLine,
  spamhaus_drop: parseSpamhausDropLine,
  ipsum: parseIpsumLine,
};

/**
 * Incremental list parser: feed it text chunks as they arrive (`push`), then `end()`. Lines are cut by a
 * LineSplitter, so no array of all lines is ever built; only the entries and a Set of their texts are kept.
 */
export class ListParser {
  private readonly lineParser: LineParser;
  private readonly ctx: LineContext;
  private readonly keepSpecial: boolean;
  private readonly exclude: ((t: Target) => string | undefined) | undefined;
  private readonly seen = new Set<string>();
  private readonly seen4 = new V4KeySet();
  private readonly entries = new TargetList();
  private readonly excludedSamples: LineSample[] = [];
  private readonly header: ListHeader = {};
  private readonly tally: LineTally;
  private duplicates = 0;
  private special = 0;
  private excludedSpecial = 0;
  private belowMinScore = 0;

  constructor(readonly format: ListFormat, opts: ParseOptions = {}) {
    const parser = LINE_PARSERS[format];
    if (parser === undefined) throw new Error(`unknown list format ${JSON.stringify(format)} (known: ${Object.keys(LINE_PARSERS).join(', ')})`);
    this.lineParser = parser;
    this.ctx = { minScore: opts.minScore ?? 1, header: this.header };
    this.keepSpecial = opts.keepSpecial ?? false;
    this.exclude = opts.exclude;
    this.tally = new LineTally('ListParser', opts.sampleLimit ?? 10, (line) => this.line(line));
  }

  push(chunk: string): void {
    this.tally.push(chunk);
  }

  end(): ParsedList {
    return {
      ...this.tally.end(),
      format: this.format,
      entries: this.entries,
      duplicates: this.duplicates,
      special: this.special,
      excludedSpecial: this.excludedSpecial,
      excludedSamples: this.excludedSamples,
      belowMinScore: this.belowMinScore,
      header: this.header,
    };
  }

  private line(line: string): void {
    const v = this.lineParser(line, this.ctx);
    switch (v.kind) {
      case 'entry': {
        const reason = specialReason(v.target) ?? broadReason(v.target) ?? this.exclude?.(v.target);
        if (reason !== undefined) {
          this.special++;
          if (!this.keepSpecial) {
            this.excludedSpecial++;
            this.tally.sample(this.excludedSamples, line, reason);
            return;
          }
        }
        const t = v.target;
        // A typed-array set keyed on (start, prefix) is far cheaper than hashing a million strings.
        if (t.family === 4) {
          // IPv4-mapped IPv6 input yields a plain Target; it must land in the same set as the fast path's.
          const startInt = t instanceof V4Target ? t.startInt : t.start.readUInt32BE(0);
          if (!this.seen4.add(startInt, t.prefix)) {
            this.duplicates++;
            return;
          }
        } else {
          if (this.seen.has(t.text)) {
            this.duplicates++;
            return;
          }
          this.seen.add(t.text);
        }
        this.entries.push(v.target);
        return;
      }
      case 'comment':
        this.tally.comments++;
        return;
      case 'blank':
        this.tally.blank++;
        return;
      case 'below':
        this.belowMinScore++;
        return;
      case 'skip':
        this.tally.skip(line, v.why);
        return;
    }
  }
}

/** Parses a whole list held in memory. Malformed lines are counted and sampled, never thrown. */
export function parseList(text: string, format: ListFormat, opts?: ParseOptions): ParsedList {
  const parser = new ListParser(format, opts);
  parser.push(text);
  return parser.end();
}
