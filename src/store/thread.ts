import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread from the module `name` next to the caller (`from` is the caller's import.meta.url).
 *
 * Compiled (dist/), the worker is `name`.js. Run from sources under tsx (tests, benchmarks, `node --import tsx`),
 * it is the .ts file, and on Node 20 tsx does not hook worker threads even though they inherit `--import tsx`;
 * so the worker starts with a small bootstrap that loads the .ts through tsx's scoped tsImport (which cannot
 * clash with a tsx registered in the worker by newer Nodes).
 */
export function spawnThread(from: string, name: string, workerData: object): Worker {
  if (!from.endsWith('.ts')) {
    return new Worker(new URL(`./${name}.js`, from), { workerData, execArgv: fileWorkerExecArgv() });
  }
  const entry = new URL(`./${name}.ts`, from).href;
  // Only import(): eval code is a CommonJS script, or a module when the process runs with --input-type=module.
  const bootstrap = `
    import('node:worker_threads')
      .then(({ workerData }) => import(workerData.tsx).then((tsx) => tsx.tsImport(workerData.entry, workerData.entry)));
  `;
  return new Worker(bootstrap, { eval: true, workerData: { ...workerData, tsx: import.meta.resolve('tsx/esm/api'), entry } });
}

/** The process's flags minus --input-type, which Node refuses for a worker started from a file (`node -e` callers). */
function fileWorkerExecArgv(): string[] {
  const out: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const a = process.execArgv[i]!;
    if (a === '--input-type') i++;
    else if (!a.startsWith('--input-type=')) out.push(a);
  }
  return out;
}
