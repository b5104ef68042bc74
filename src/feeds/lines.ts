import type { LineCounts, LineSample } from './types.js';

/** No list format has lines anywhere near this long. */
const MAX_LINE = 64 * 1024;
/** Why an overlong line was skipped, as its sample says. */
const OVERLONG_WHY = `line longer than ${MAX_LINE / 1024} KiB`;
/** How much of a line a sample shows. */
const SAMPLE_TEXT_MAX = 120;
/** How much of an overlong line is kept to show in a sample (one character more than a sample shows, so it gets its '…'). */
const OVERLONG_HEAD = SAMPLE_TEXT_MAX + 1;

/** Keeps a sample of a line a parser skipped (trimmed, cut to SAMPLE_TEXT_MAX with '…'), up to `limit` of them. */
export function addSample(into: LineSample[], limit: number, lineNo: number, line: string, why: string): void {
  if (into.length >= limit) return;
  const t = line.trim();
  const text = t.length > SAMPLE_TEXT_MAX ? t.slice(0, SAMPLE_TEXT_MAX) + '…' : t;
  into.push({ line: lineNo, text, why });
}

/**
 * Cuts text arriving in chunks into lines for the list parsers: a leading BOM is dropped, a line split across
 * chunks is held until its newline, a trailing '\r' is removed, and a line longer than MAX_LINE is not kept
 * (only its start, for the overlong callback) so one garbage line cannot fill the memory. Lines are cut with
 * indexOf, so no array of all lines is ever built.
 */
export class LineSplitter {
  private pending = '';
  private ended = false;
  private bomChecked = false;
  private overlong = false;

  /**
   * @param name who is splitting, for the push-after-end error
   * @param onLine called with each line (no '\n', no trailing '\r')
   * @param onOverlong called instead for a line longer than MAX_LINE, with its first characters
   */
  constructor(
    private readonly name: string,
    private readonly onLine: (line: string) => void,
    private readonly onOverlong: (head: string) => void,
  ) {}

  push(chunk: string): void {
    if (this.ended) throw new Error(`${this.name}: push() after end()`);
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

  /** Passes on the last line; idempotent. */
  end(): void {
    if (this.ended) return;
    // A last line without a newline still counts; an empty tail after a final newline is not a line.
    if (this.pending.length > 0 || this.overlong) this.line(this.pending, 0, this.pending.length);
    this.pending = '';
    this.ended = true;
  }

  /** Keeps the start of an unfinished line; beyond MAX_LINE it can only be garbage, so the rest is dropped. */
  private hold(part: string): void {
    if (this.overlong) return;
    if (this.pending.length + part.length > MAX_LINE) {
      this.overlong = true;
      this.pending = (this.pending + part).slice(0, OVERLONG_HEAD);
      return;
    }
    this.pending += part;
  }

  private line(text: string, from: number, to: number): void {
    if (this.overlong || to - from > MAX_LINE) {
      this.overlong = false;
      this.onOverlong(text.slice(from, Math.min(to, from + OVERLONG_HEAD)));
      return;
    }
    const end = to > from && text.charCodeAt(to - 1) === 13 /* \r */ ? to - 1 : to;
    this.onLine(text.slice(from, end));
  }
}

/**
 * The lines of one list and the counts every list parser keeps (LineCounts): the parser only sorts each line
 * into comment, blank, skipped or its own kinds. Overlong lines are counted as skipped here.
 */
export class LineTally {
  lineNo = 0;
  comments = 0;
  blank = 0;
  skipped = 0;
  readonly skippedSamples: LineSample[] = [];
  private readonly splitter: LineSplitter;

  /** @param onLine called with each line after it is counted in lineNo */
  constructor(name: string, private readonly sampleLimit: number, onLine: (line: string) => void) {
    this.splitter = new LineSplitter(
      name,
      (line) => {
        this.lineNo++;
        onLine(line);
      },
      (head) => {
        this.lineNo++;
        this.skip(head, OVERLONG_WHY);
      },
    );
  }

  push(chunk: string): void {
    this.splitter.push(chunk);
  }

  /** Passes on the last line and gives the counts; may be called again. */
  end(): LineCounts {
    this.splitter.end();
    return {
      lines: this.lineNo,
      dataLines: this.lineNo - this.comments - this.blank,
      comments: this.comments,
      blank: this.blank,
      skipped: this.skipped,
      skippedSamples: this.skippedSamples,
    };
  }

  /** Counts the current line as skipped and samples it. */
  skip(line: string, why: string): void {
    this.skipped++;
    this.sample(this.skippedSamples, line, why);
  }

  /** Samples the current line into `into` (the skipped samples or a parser's own). */
  sample(into: LineSample[], line: string, why: string): void {
    addSample(into, this.sampleLimit, this.lineNo, line, why);
  }
}
