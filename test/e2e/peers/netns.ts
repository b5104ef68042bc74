import { randomBytes } from 'node:crypto';
import { ipIn, killPids, netnsExists, pidsInNetns, run } from '../../../src/lab/ns.js';

/** A network namespace a test created; `remove()` kills what still runs inside and deletes it. */
export interface TestNetns {
  readonly name: string;
  remove(): Promise<void>;
}

/** Creates `<prefix>-<random>` with loopback up (peers listen on 127.0.0.1 inside it). */
export async function createTestNetns(prefix: string): Promise<TestNetns> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await run('ip', ['netns', 'add', name]);
  try {
    await ipIn(name, ['link', 'set', 'lo', 'up']);
  } catch (err) {
    await run('ip', ['netns', 'del', name]).catch(() => {});
    throw err;
  }
  return {
    name,
    async remove() {
      if (!netnsExists(name)) return;
      await killPids(await pidsInNetns(name), 3000);
      await run('ip', ['netns', 'del', name]).catch(() => {});
    },
  };
}

/** Root and the `ip`/`nsenter` tools: what every peer runner needs. */
export function canUseNetns(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
