import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Tests and benchmarks run from any checkout: shared material is reached as `../shared` from the repo root,
 * never through the path of one machine. Generated result files (bench/results) record where they were
 * written and are not code, so only sources are scanned.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CODE = /\.(ts|mts|cts|js|mjs|cjs|sh|json|ya?ml)$/;
const SKIP_DIRS = new Set(['node_modules', 'results']);
// Built from parts so this file does not find itself.
const MACHINE_PATH = new RegExp(['/', 'work', '/'].join(''));

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) yield* sources(join(dir, e.name));
    } else if (e.isFile() && CODE.test(e.name)) yield join(dir, e.name);
  }
}

test('no test or benchmark source refers to an absolute path outside the checkout', () => {
  const found: string[] = [];
  for (const top of ['test', 'bench']) {
    for (const file of sources(join(ROOT, top))) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (MACHINE_PATH.test(line)) found.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(found, [], `use ../shared relative to the repo root instead:\n${found.join('\n')}`);
});
