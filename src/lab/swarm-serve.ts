import { nodeScriptLaunch } from './launch.js';
import { spawnInNs } from './ns.js';
import type { ServeSpec } from './swarm.js';

/**
 * Starts the lab's BitTorrent-like swarm (swarm.ts `serve`) in a namespace and resolves once it says "ready".
 * It is left running, unreferenced: it ends with the lab (labDown kills what runs in its namespaces).
 */
export async function startSwarm(ns: string, spec: ServeSpec): Promise<void> {
  const launch = nodeScriptLaunch('swarm');
  const child = spawnInNs(ns, launch.command, [...launch.args, 'serve', JSON.stringify(spec)], { cwd: launch.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`swarm did not start: ${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.on('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`swarm exited ${String(c)}: ${err}`));
    });
  });
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
}
