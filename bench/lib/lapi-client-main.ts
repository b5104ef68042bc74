/**
 * Entry of the bouncer-side process, started by lapi-probe.ts with nsenter inside the benchmark namespace
 * (node cannot switch network namespace itself). Reads one job as JSON on stdin, prints the result as JSON.
 */
import { text } from 'node:stream/consumers';
import { fetchStream, pollLoad, warmUp, type LoadOptions, type StreamFetch } from './lapi-client.js';

export type ClientJob =
  | { readonly kind: 'stream'; readonly baseUrl: string; readonly key: string; readonly runs: number }
  | { readonly kind: 'warmup'; readonly baseUrl: string; readonly keys: readonly string[] }
  | ({ readonly kind: 'load' } & LoadOptions);

async function main(): Promise<void> {
  const job = JSON.parse(await text(process.stdin)) as ClientJob;
  let out: unknown;
  if (job.kind === 'stream') {
    const runs: StreamFetch[] = [];
    for (let i = 0; i < job.runs; i++) runs.push(await fetchStream(job.baseUrl, job.key, true));
    out = runs;
  } else if (job.kind === 'warmup') {
    out = await warmUp(job.baseUrl, job.keys);
  } else {
    out = await pollLoad(job);
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exit(1);
});
