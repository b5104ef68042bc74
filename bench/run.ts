/**
 * `npm run bench`: the decisions load benchmark with everyday sizes (10k, 100k; 3 runs, recorded anchor).
 * `npm run bench -- --full` adds 1,000,000 (one run: it takes minutes). Other flags go to decisions-load.
 */
import { DEFAULTS, parseLoadArgs, runDecisionsLoad } from './decisions-load.js';

const argv = process.argv.slice(2);
const full = argv.includes('--full');
const base = full ? { ...DEFAULTS, sizes: [...DEFAULTS.sizes, 1_000_000] } : DEFAULTS;

runDecisionsLoad(parseLoadArgs(argv.filter((a) => a !== '--full'), base)).catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
