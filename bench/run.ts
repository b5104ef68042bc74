/**
 * `npm run bench`: the decisions load benchmark with everyday sizes (10k, 100k; 3 runs, recorded anchor).
 * `npm run bench -- --full` adds 1,000,000 (one run: it takes minutes). Other flags go to decisions-load.
 */
import { DEFAULTS, parseLoadArgs, runDecisionsLoad } from './decisions-load.js';

const argv = process.argv.slice(2);
const full = argv.includes('--full');
const base = full ? { ...DEFAULTS, sizes: [...DEFAULTS.sizes, 1_000_000] } : DEFAULTS;

if (!argv.includes('--lapi') && !argv.includes('--dns')) runDecisionsLoad(parseLoadArgs(argv.filter((a) => a !== '--full'), base)).catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

// ---------------------------------------------------------------------------------------------- --lapi
// `npm run bench -- --lapi`: the LAPI benchmark instead (lapi-stream.ts: Gatehouse's LAPI vs CrowdSec 1.4.6,
// 100k; `--full` adds 1,000,000 for Gatehouse only). Other flags go to lapi-stream.
import { LAPI_DEFAULTS, parseLapiArgs, runLapiBench } from './lapi-stream.js';

if (argv.includes('--lapi')) {
  const lapiBase = full ? { ...LAPI_DEFAULTS, sizes: [...LAPI_DEFAULTS.sizes, 1_000_000] } : LAPI_DEFAULTS;
  runLapiBench(parseLapiArgs(argv.filter((a) => a !== '--lapi' && a !== '--full'), lapiBase)).catch((e: unknown) => {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}

// ----------------------------------------------------------------------------------------------- --dns
// `npm run bench -- --dns [--quick]`: the DNS filter against dnsdist, unbound and dnsmasq (dns.ts; root).
import { runDnsBench } from './dns.js';

if (argv.includes('--dns')) {
  runDnsBench(argv.filter((a) => a !== '--dns')).then((code) => process.exit(code), (e: unknown) => {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
