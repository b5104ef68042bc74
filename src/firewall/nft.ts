import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class NftError extends Error {
  override name = 'NftError';
}

export interface NftRunner {
  /** Applies a script as one transaction (`nft -f -`). */
  apply(script: string): Promise<void>;
  /**
   * Checks a script as one transaction without applying it (`nft -c -f`): parser and kernel errors both
   * show. The enforcer uses it to find the element a failed transaction stumbled on; without it, it cannot.
   */
  check?(script: string): Promise<void>;
  /** `nft -j list set inet TABLE SET`, parsed; undefined when the set or table does not exist. */
  listSet(table: string, set: string): Promise<unknown | undefined>;
  /** Whether the table exists, without listing set contents (fast even with millions of elements). */
  hasTable(table: string): Promise<boolean>;
}

function run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('nft', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', (e) => reject(new NftError(`cannot run nft: ${e.message} (is the nftables package installed?)`)));
    p.on('close', (code) =>
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    p.stdin.on('error', () => undefined);
    p.stdin.end(input ?? '');
  });
}

/** nft echoes the offending line of a failed script; keep the message short enough to log. */
function summarize(stderr: string): string {
  const lines = stderr.trim().split('\n');
  const first = lines.slice(0, 6).map((l) => (l.length > 300 ? l.slice(0, 300) + '…' : l));
  return first.join('\n') + (lines.length > 6 ? `\n… (${lines.length - 6} more lines)` : '');
}

async function runScript(script: string, flags: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // From a file, not stdin: nft then runs on the other core while the daemon's thread goes on with the
  // next chunk of an import, instead of waiting for the event loop to feed it a pipe.
  // Written synchronously (a few MB at most per batch) so nft starts before the caller's next chunk.
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-nft-'));
  const file = join(dir, 'batch.nft');
  try {
    writeFileSync(file, script, { mode: 0o600 });
    return await run([...flags, '-f', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const systemNft: NftRunner = {
  async apply(script) {
    const r = await runScript(script, []);
    if (r.code !== 0) throw new NftError(`nft rejected the update: ${summarize(r.stderr)}`);
  },
  async check(script) {
    const r = await runScript(script, ['-c']);
    if (r.code !== 0) throw new NftError(`nft refused the script: ${summarize(r.stderr)}`);
  },
  async listSet(table, set) {
    const r = await run(['-j', 'list', 'set', 'inet', table, set]);
    if (r.code !== 0) {
      if (/No such file or directory|does not exist/.test(r.stderr)) return undefined;
      throw new NftError(`nft list set ${table} ${set} failed: ${summarize(r.stderr)}`);
    }
    return JSON.parse(r.stdout) as unknown;
  },
  async hasTable(table) {
    // -t (terse) skips set elements; `list tables` would fetch them all on nft 1.0.6.
    const r = await run(['-t', 'list', 'table', 'inet', table]);
    return r.code === 0;
  },
};
