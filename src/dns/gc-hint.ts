import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/*
 * A full collection right after the daemon handed a new domain index on. Building it from a 1M-name list
 * leaves ~50 MB of garbage (the list's text chunks, the merged index the daemon does not keep) that an
 * otherwise idle daemon would hold for minutes: nothing allocates enough to start a major GC. One pause
 * of tens of ms per list refresh, off the answer path (the workers answer). Node exposes gc() only behind
 * --expose-gc; the flag set at run time reaches a fresh context, which is how this gets it without
 * changing how the daemon is started.
 */
let gc: (() => void) | undefined | null = null;

export function collectGarbageNow(): void {
  if (gc === null) {
    try {
      setFlagsFromString('--expose-gc');
      const f: unknown = runInNewContext('gc');
      gc = typeof f === 'function' ? (f as () => void) : undefined;
    } catch {
      gc = undefined;
    }
  }
  gc?.();
}
