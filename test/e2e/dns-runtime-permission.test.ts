/**
 * Issue #10: `gatehouse run` by a user who may not bind port 53 stops at the start with a message that
 * names the address and what is missing, instead of a bare EACCES (run as nobody through setpriv).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chown, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { tempDir } from './helpers/dns-runtime.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const NOBODY = 65534;
const skip = process.getuid?.() !== 0 ? 'needs root (to run the daemon as nobody)' : false;

let dir: string;
before(async () => {
  if (skip) return;
  dir = await tempDir('perm');
  await chown(dir, NOBODY, NOBODY);
  await writeFile(
    join(dir, 'gatehouse.yaml'),
    stringify({ data_dir: join(dir, 'data'), api: { socket: join(dir, 'api.sock') }, dns: { listen: ['127.0.0.1:53'], upstreams: ['127.0.0.1:15299'], workers: 1 } }),
  );
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('port 53 without the right to bind it: a clear start error naming the address', { skip, timeout: 60_000 }, async () => {
  const r = await new Promise<{ code: number; out: string }>((done) => {
    execFile(
      'setpriv',
      ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'env', `HOME=${dir}`, process.execPath, '--import', 'tsx', MAIN, 'run', '--config', join(dir, 'gatehouse.yaml')],
      { timeout: 50_000, cwd: new URL('../..', import.meta.url).pathname },
      (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
  });
  assert.notEqual(r.code, 0);
  assert.match(r.out, /dns\.listen 127\.0\.0\.1:53 \(udp\): permission denied: port 53 needs root or CAP_NET_BIND_SERVICE/);
});
