import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread from a file next to this one: the built `.js` from dist/, or the `.ts` through
 * tsx's loader when running from source (tests, benchmarks), as store/checkpointer.ts does.
 */
export function spawnThread(name: 'writer-thread' | 'reader-thread', workerData: object): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL(`./${name}.js`, import.meta.url), { workerData, execArgv: fileWorkerExecArgv() });
  }
  const entry = new URL(`./${name}.ts`, import.meta.url).href;
  // Only import(): eval code is a CommonJS script, or a module when the process runs with --input-type=module.
  const bootstrap = `
    import('node:worker_threads')
      .then(({ workerData }) => import(workerData.tsx).then((tsx) => tsx.tsImport(workerData.entry, workerData.entry)));
  `;
  return new Worker(bootstrap, { eval: true, workerData: { ...workerData, tsx: import.meta.resolve('tsx/esm/api'), entry } });
}

/** The process's flags minus --input-type, which Node refuses for a worker started from a file. */
function fileWorkerExecArgv(): string[] {
  const out: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const a = process.execArgv[i]!;
    if (a === '--input-type') i++;
    else if (!a.startsWith('--input-type=')) out.push(a);
  }
  return out;
}
