import { readFile, writeFile } from 'node:fs/promises';

/** Per-namespace: the daemon's own /proc/sys/net is the gateway namespace's. */
export const CONNTRACK_ACCT_PATH = '/proc/sys/net/netfilter/nf_conntrack_acct';

export interface AcctState {
  /** Conntrack byte/packet counters are on: elephant detection and `ct … packets` guards work. */
  readonly enabled: boolean;
  /** Why not, for status. */
  readonly error?: string;
}

/**
 * Turns on conntrack accounting (default off; applies to connections created from then on, gateway.md §D.4).
 * Needs the conntrack module loaded (the shaper's table loads it): call after the table is applied.
 */
export async function enableConntrackAcct(path = CONNTRACK_ACCT_PATH): Promise<AcctState> {
  try {
    if ((await readFile(path, 'utf8')).trim() !== '1') await writeFile(path, '1\n');
    const now = (await readFile(path, 'utf8')).trim();
    return now === '1' ? { enabled: true } : { enabled: false, error: `${path} reads ${JSON.stringify(now)} after writing 1` };
  } catch (e) {
    return { enabled: false, error: `${path}: ${(e as Error).message}` };
  }
}
