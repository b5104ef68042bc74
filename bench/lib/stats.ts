/** Small number helpers for benchmark figures. */

export { percentile } from '../../src/lab/fairness.js';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summary(xs: readonly number[]): { median: number; min: number; max: number; runs: number } {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs.length };
}

/** Seconds with a precision that suits the size: 0.052 s, 1.43 s, 27.1 s. */
export function secs(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return '-';
  const s = ms / 1000;
  return s < 1 ? `${s.toFixed(3)} s` : s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

export function mib(kb: number | undefined): string {
  return kb === undefined ? '-' : `${(kb / 1024).toFixed(0)} MB`;
}

/** A plain text table with left-aligned columns. */
export function textTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
