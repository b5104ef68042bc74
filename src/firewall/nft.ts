import { launch } from './launcher.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class NftError extends Error {
  override name = 'NftError';
}

export interface NftRunner {
  /** Applies a script as one transaction (`nft -f -`). */
  apply(script: string): Promise<void>;
  /** `nft -j list set inet TABLE SET`, parsed; undefined when the set or table does not exist. */
  listSet(table: string, set: string): Promise<unknown | undefined>;
  /** `nft -j list map inet TABLE MAP`, parsed; undefined when it does not exist (modules' runtime maps). */
  listMap?(table: string, map: string): Promise<unknown | undefined>;
  /** Whether the table exists, without listing set contents (fast even with millions of elements). */
  hasTable(table: string): Promise<boolean>;
  /**
   * Checks a script as one transaction without applying it (`nft -c -f`): parser and kernel errors both
   * show. The enforcer uses it to find the element a failed transaction stumbled on; without it, it cannot.
   */
  check?(script: string): Promise<void>;
  /**
   * Names of the sets, maps and chains in the table, without their elements (fast with millions); undefined
   * when the table does not exist. Lets a reconcile remove what no module declares.
   */
  listObjects?(table: string): Promise<TableObjects | undefined>;
}

export interface TableObjects {
  readonly sets: readonly string[];
  readonly maps: readonly string[];
  readonly quotas: readonly string[];
  readonly chains: readonly string[];
}

/**
 * The names of one inet table's objects in `nft -j list ruleset` output; undefined when the table is not
 * in it. Other tables and anything else in the output are ignored.
 */
export function parseTableObjects(json: unknown, table: string): TableObjects | undefined {
  const sets: string[] = [];
  const maps: string[] = [];
  const quotas: string[] = [];
  const chains: string[] = [];
  let found = false;
  const items = (json as { nftables?: unknown } | null)?.nftables;
  for (const item of Array.isArray(items) ? (items as unknown[]) : []) {
    if (typeof item !== 'object' || item === null) continue;
    const o = item as Record<string, { family?: unknown; table?: unknown; name?: unknown } | undefined>;
    if (o.table?.family === 'inet' && o.table.name === table) found = true;
    for (const [kind, list] of [['set', sets], ['map', maps], ['quota', quotas], ['chain', chains]] as const) {
      const x = o[kind];
      if (x?.family === 'inet' && x.table === table && typeof x.name === 'string') list.push(x.name);
    }
  }
  return found ? { sets, maps, quotas, chains } : undefined;
}

function run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  // Through the launcher (launcher.ts): forking nft from the daemon itself stalls its event loop.
  // A failure to start (EMFILE with every descriptor in use, ENOENT without nftables) is a rejection, never
  // the end of the daemon; the enforcer retries a failed transaction.
  return launch('nft', args, input ?? '').catch((e: NodeJS.ErrnoException) => {
    throw new NftError(`cannot run nft: ${e.message}${e.code === 'ENOENT' ? ' (is the nftables package installed?)' : ''}`);
  });
}

/** nft echoes the offending line of a failed script; keep the message short enough to log. */
function summarize(stderr: string): string {
  const lines = stderr.trim().split('\n');
  const first = lines.slice(0, 6).map((l) => (l.length > 300 ? l.slice(0, 300) + '…' : l));
  return first.join('\n') + (lines.length > 6 ? `\n… (${lines.length - 6} more lines)` : '');
}

/**
 * Makes `dir` (the daemon's `<data_dir>/nft-batches`) an empty private directory for batch files: a
 * `kill -9` in the middle of a transaction leaves its file behind, and the next start removes it here.
 */
export function prepareBatchDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

let batchSeq = 0;

/**
 * Runs nft on a script written to a file, not fed through stdin: nft then runs on the other core while the
 * daemon's thread goes on with the next chunk of an import, instead of waiting for the event loop to feed
 * it a pipe. Written synchronously (a few MB at most per batch) so nft starts before the caller's next chunk.
 * The file goes into `batchDir` (see prepareBatchDir) when given, else into a private directory under the
 * system's temporary directory; either way it is removed once nft has read it.
 */
async function runScript(script: string, flags: string[], batchDir?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = batchDir ?? mkdtempSync(join(tmpdir(), 'gatehouse-nft-'));
  const file = join(dir, `batch-${process.pid}-${++batchSeq}.nft`);
  try {
    writeFileSync(file, script, { mode: 0o600, flag: 'wx' });
    return await run([...flags, '-f', file]);
  } finally {
    rmSync(batchDir ? file : dir, { recursive: true, force: true });
  }
}

/** nft as installed, with batch files in `batchDir` when given. */
export function systemNftRunner(batchDir?: string): NftRunner {
  return {
    async apply(script) {
      const r = await runScript(script, [], batchDir);
      if (r.code !== 0) throw new NftError(`nft rejected the update: ${summarize(r.stderr)}`);
    },
    async check(script) {
      const r = await runScript(script, ['-c'], batchDir);
      if (r.code !== 0) throw new NftError(`nft refused the script: ${summarize(r.stderr)}`);
    },
    listSet: systemNft.listSet,
    listMap: systemNft.listMap!,
    hasTable: systemNft.hasTable,
    listObjects: systemNft.listObjects!,
  };
}

/**
 * Table, set, map and chain names without elements: on nft 1.0.6 a terse `list ruleset` takes ~20 ms with a
 * million elements in the table, while `list table` and `list tables`, even terse, fetch every element
 * (~35 s). Measured in a scratch namespace, see test/e2e/firewall-kernel-listing.test.ts.
 */
async function listNamed(kind: 'set' | 'map', table: string, name: string): Promise<unknown | undefined> {
  const r = await run(['-j', 'list', kind, 'inet', table, name]);
  if (r.code !== 0) {
    if (/No such file or directory|does not exist/.test(r.stderr)) return undefined;
    throw new NftError(`nft list ${kind} ${table} ${name} failed: ${summarize(r.stderr)}`);
  }
  return JSON.parse(r.stdout) as unknown;
}

const LIST_NAMES = ['-j', '-t', 'list', 'ruleset', 'inet'];

export const systemNft: NftRunner = {
  apply: (script) => systemNftRunner().apply(script),
  check: (script) => systemNftRunner().check!(script),
  listSet: (table, set) => listNamed('set', table, set),
  listMap: (table, map) => listNamed('map', table, map),
  async listObjects(table) {
    const r = await run(LIST_NAMES);
    if (r.code !== 0) throw new NftError(`nft list ruleset failed: ${summarize(r.stderr)}`);
    return parseTableObjects(JSON.parse(r.stdout) as unknown, table);
  },
  async hasTable(table) {
    const r = await run(LIST_NAMES);
    if (r.code !== 0) return false;
    try {
      return parseTableObjects(JSON.parse(r.stdout) as unknown, table) !== undefined;
    } catch {
      return false;
    }
  },
};
