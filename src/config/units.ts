import { z } from 'zod';
import { describe } from './fields.js';

/*
 * Sizes and rates as admins write them: "5GB", "500 MB", "1.5GiB"; "100mbit", "20Mbit", "256kbit". Units are
 * required (a bare number could be bytes, kB or MB), and decimal units are powers of 1000 as on ISP plans and
 * tc(8); binary ones (KiB, MiB, GiB, TiB) are powers of 1024.
 */

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};
const RATE_UNITS: Readonly<Record<string, number>> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };
const AMOUNT = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$/;

function parseAmount(text: string, units: Readonly<Record<string, number>>, example: string): number {
  const m = AMOUNT.exec(text);
  const factor = m ? units[m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined) throw new Error(`expected an amount with a unit such as ${example}, got ${JSON.stringify(text)}`);
  const n = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${JSON.stringify(text)} is out of range`);
  return n;
}

/** Bytes from "5GB", "1.5GiB", "300 MB". */
export const parseByteSize = (text: string): number => parseAmount(text, SIZE_UNITS, '"5GB" or "500MB"');
/** Bits per second from "100mbit", "256kbit", "1gbit". */
export const parseRate = (text: string): number => parseAmount(text, RATE_UNITS, '"100mbit" or "256kbit"');

function amountField(parse: (t: string) => number, example: string) {
  return z.unknown().transform((v, ctx): number => {
    if (typeof v !== 'string') {
      ctx.issues.push({ code: 'custom', input: v, message: `expected an amount with a unit such as ${example}, got ${describe(v)}` });
      return z.NEVER;
    }
    try {
      return parse(v);
    } catch (e) {
      ctx.issues.push({ code: 'custom', input: v, message: (e as Error).message });
      return z.NEVER;
    }
  });
}

/** A positive byte size, e.g. `portal.limits.download: 5GB`. */
export const byteSizeField = () => amountField(parseByteSize, '"5GB"');
/** A positive rate in bits per second, e.g. `shaper.download: 100mbit`. */
export const rateField = () => amountField(parseRate, '"100mbit"');
