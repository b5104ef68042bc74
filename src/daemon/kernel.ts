import { join } from 'node:path';
import type { Logger } from 'pino';
import { applyKernelTable, firewallRef, prepareBatchDir, systemNftRunner, type KernelFragment, type NftRunner } from '../firewall/index.js';
import { providedBy, type Started } from './lifecycle.js';

/**
 * The one `inet gatehouse` table, composed of what the running modules contribute. With the firewall on,
 * its enforcer applies every fragment with its own in one transaction (and at every reconcile); with it
 * off, the fragments alone are applied once, and no fragment means no table at all (a LAPI-only gateway
 * never touches nftables).
 */
export async function applyFragments(
  started: readonly Started[],
  opts: { readonly table: string; readonly dataDir: string; readonly nft?: NftRunner | undefined; readonly log: Logger },
): Promise<void> {
  const fragments: KernelFragment[] = started.flatMap((s) => (s.contribution.kernel ? [s.contribution.kernel] : []));
  const firewall = providedBy(started, firewallRef);
  // Even with none: the firewall then removes what modules switched off left in the table.
  if (firewall) return firewall.setFragments(fragments);
  if (fragments.length === 0) return;
  const nft = opts.nft ?? systemNftRunner(prepareBatchDir(join(opts.dataDir, 'nft-batches')));
  await applyKernelTable(nft, opts.table, fragments, opts.log);
}
