import { writeFile } from 'node:fs/promises';
import { CommandError } from '../../src/lab/ns.js';
import type { BenchNamespace } from './netns.js';

/** Counts the elements of a set from `nft -j list set` output (plain strings or {elem:…} objects). */
export function countSetElements(json: string): number {
  const doc = JSON.parse(json) as { nftables?: { set?: { elem?: unknown[] } }[] };
  for (const item of doc.nftables ?? []) if (item.set) return item.set.elem?.length ?? 0;
  throw new Error('no set in nft -j output');
}

/** Full listing: exact, but slow for a million elements (tens of seconds), so never inside a timed section. */
export async function countElements(ns: BenchNamespace, table: string, set: string): Promise<number> {
  const r = await ns.nft(['-j', 'list', 'set', 'inet', table, set]);
  return countSetElements(r.stdout);
}

/** nft 1.0.6 segfaults on `get element` with a few hundred elements in one command (300 did, 100 did not). */
const GET_CHUNK = 100;

/** True when the kernel holds every value; `nft get element` fails as a whole if one is missing. */
export async function holdsAll(ns: BenchNamespace, table: string, set: string, values: readonly string[]): Promise<boolean> {
  for (let i = 0; i < values.length; i += GET_CHUNK) {
    const chunk = values.slice(i, i + GET_CHUNK);
    try {
      await ns.nft(['get', 'element', 'inet', table, set, `{ ${chunk.join(', ')} }`]);
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      if (e.exitCode !== null && e.exitCode !== 139) return false;
      // Not an answer about the elements: say what happened without echoing a hundred addresses.
      throw new Error(`nft get element (${chunk.length} elements) failed: ${e.exitCode !== null ? `exit code ${e.exitCode}` : `signal ${e.signal ?? '?'}`}: ${e.stderr.trim().slice(0, 200)}`);
    }
  }
  return true;
}

/** `count` values spread evenly over the list (first and last included). */
export function spreadSample<T>(xs: readonly T[], count: number): T[] {
  if (xs.length <= count) return [...xs];
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(xs[Math.round((i * (xs.length - 1)) / (count - 1))]!);
  return out;
}

/**
 * The floor: the same addresses loaded by one `nft -f` into a set declared like Gatehouse's host sets
 * (`flags timeout`), in `add element` lines of 5,000 as Gatehouse writes them. Returns wall ms of nft alone.
 */
export async function rawNftLoad(ns: BenchNamespace, ips: readonly string[], scriptFile: string): Promise<number> {
  const table = 'ghbench_raw';
  const lines = [`table inet ${table} {`, '  set s { type ipv4_addr; flags timeout; }', '}'];
  for (let i = 0; i < ips.length; i += 5000) lines.push(`add element inet ${table} s { ${ips.slice(i, i + 5000).join(', ')} }`);
  await writeFile(scriptFile, lines.join('\n') + '\n');
  await ns.nft(['delete', 'table', 'inet', table]).catch(() => undefined);
  const t0 = performance.now();
  await ns.nft(['-f', scriptFile]);
  const ms = performance.now() - t0;
  await ns.nft(['delete', 'table', 'inet', table]);
  return ms;
}
