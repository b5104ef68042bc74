/**
 * Issue #8, finding 6: nft batch files live under the daemon's data_dir (nft-batches), which every start
 * empties, so a kill -9 in the middle of a transaction leaves nothing in /tmp and nothing for long.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareBatchDir, systemNftRunner } from '../../src/firewall/nft.js';

describe('nft batch files', () => {
  it('live in the directory the daemon gives, which a start empties, and are gone after each call', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-h2-batches-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const batches = join(dir, 'nft-batches');
    prepareBatchDir(batches);
    // What a kill -9 during a transaction leaves behind.
    writeFileSync(join(batches, 'batch-1234-7.nft'), 'add element inet gatehouse both_ip4 { 192.0.2.1 }\n');
    prepareBatchDir(batches);
    assert.deepEqual(readdirSync(batches), []);
    // A call that fails (as an unprivileged user, or with a script nft refuses) leaves nothing either.
    await systemNftRunner(batches)
      .apply('this is not an nft command\n')
      .catch(() => undefined);
    assert.deepEqual(readdirSync(batches), []);
  });
});
