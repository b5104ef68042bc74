import { fileURLToPath } from 'node:url';
import { nsExec } from '../../src/lab/ns.js';
import type { ClientJob } from './lapi-client-main.js';
import type { LoadResult, StreamFetch } from './lapi-client.js';

const MAIN = fileURLToPath(new URL('./lapi-client-main.js', import.meta.url)).replace(/\.js$/, '.ts');
const TSX = import.meta.resolve('tsx');

/** Runs one client job in a node process inside the namespace; its start-up is outside every timing. */
async function runJob<T>(ns: string, job: ClientJob, timeoutMs: number): Promise<T> {
  const r = await nsExec(ns, process.execPath, ['--import', TSX, MAIN], { input: JSON.stringify(job), timeoutMs });
  return JSON.parse(r.stdout) as T;
}

export function probeStartup(ns: string, baseUrl: string, key: string, runs: number): Promise<StreamFetch[]> {
  return runJob(ns, { kind: 'stream', baseUrl, key, runs }, 1_800_000);
}

export function probeWarmUp(ns: string, baseUrl: string, keys: readonly string[]): Promise<StreamFetch[]> {
  return runJob(ns, { kind: 'warmup', baseUrl, keys }, 900_000);
}

export function probeLoad(ns: string, job: Omit<Extract<ClientJob, { kind: 'load' }>, 'kind'>): Promise<LoadResult> {
  return runJob(ns, { kind: 'load', ...job }, 1_800_000);
}
