import { renderAdd } from './elements.js';
import type { NftRunner } from './nft.js';

/** One set's full contents in a reconcile: `flush set` and `add element` of these texts. */
export interface SetContents {
  readonly set: string;
  readonly elements: string[];
}

/** `nft -c` runs one isolation may spend: two per halving, so ~40 for one refused element among a million. */
const MAX_CHECKS = 200;

/** An element's value without its timeout: how refused elements are remembered. */
export const elementValue = (text: string): string => text.split(' ', 1)[0]!;

/** The full-table script: the composed declarations, then every listed set flushed and refilled. */
export function renderFullTable(table: string, declarations: string, contents: readonly SetContents[]): string {
  return [declarations, ...contents.flatMap((c) => [`flush set inet ${table} ${c.set}`, ...renderAdd(table, c.set, c.elements)])].join('\n') + '\n';
}

/**
 * Finds the elements nft refuses, by bisecting each failing set's contents with dry runs (element value →
 * set). Throws `err` when it finds none (the fault lies elsewhere, e.g. the declarations), runs out of
 * checks, or `stopping()` turns true.
 */
export async function isolateRefused(
  nft: NftRunner,
  table: string,
  declarations: string,
  sets: readonly SetContents[],
  err: unknown,
  stopping: () => boolean,
): Promise<Map<string, string>> {
  const check = nft.check?.bind(nft);
  if (!check) throw err;
  let budget = MAX_CHECKS;
  const passes = async (set: string | undefined, elements: readonly string[]): Promise<boolean> => {
    if (stopping() || budget-- <= 0) throw err;
    const lines = set === undefined ? [declarations] : [declarations, `flush set inet ${table} ${set}`, ...renderAdd(table, set, elements)];
    try {
      await check(lines.join('\n') + '\n');
      return true;
    } catch {
      return false;
    }
  };
  if (!(await passes(undefined, []))) throw err;
  const bad = new Map<string, string>();
  const bisect = async (set: string, elements: readonly string[]): Promise<void> => {
    if (elements.length === 1) {
      bad.set(elementValue(elements[0]!), set);
      return;
    }
    const mid = elements.length >> 1;
    for (const half of [elements.slice(0, mid), elements.slice(mid)]) if (!(await passes(set, half))) await bisect(set, half);
  };
  for (const c of sets) if (c.elements.length > 0 && !(await passes(c.set, c.elements))) await bisect(c.set, c.elements);
  if (bad.size === 0) throw err;
  return bad;
}
