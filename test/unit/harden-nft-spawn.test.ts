/**
 * Issue #8, finding 2: with every file descriptor in use, `spawn nft` fails with EMFILE. That must be a
 * failed nft call (which the enforcer retries), never an unhandled 'error' event that ends the daemon.
 * Runs the real runner in a child process whose open-file limit is tiny and exhausted on purpose.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** In a child under `prlimit --nofile=…`: use up every descriptor, then call nft and say what happened. */
const CHILD = `
import { openSync, closeSync } from 'node:fs';
import { systemNft } from '${ROOT}/src/firewall/nft.ts';
const held = [];
try { for (;;) held.push(openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
const results = [];
for (const call of [() => systemNft.hasTable('gatehouse'), () => systemNft.listSet('gatehouse', 'hit_out4'), () => systemNft.apply('list tables\\n')]) {
  try { await call(); results.push('resolved'); } catch (e) { results.push(e.name + ': ' + e.message); }
}
// Still alive after the 'error' events had their turn: free the descriptors and report.
await new Promise((r) => setTimeout(r, 100));
for (const fd of held) closeSync(fd);
process.stdout.write(JSON.stringify(results));
`;

describe('nft with no file descriptors left', () => {
  it('rejects each call and the process carries on', async () => {
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile('prlimit', ['--nofile=64:64', '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
    assert.equal(r.code, 0, `the process ended: ${r.stderr.slice(-1500)}`);
    const results = JSON.parse(r.stdout) as string[];
    assert.equal(results.length, 3);
    // A rejection (which the enforcer logs and retries), never 'resolved' and never the end of the process.
    for (const res of results) assert.match(res, /Error: .*EMFILE/);
  });
});
