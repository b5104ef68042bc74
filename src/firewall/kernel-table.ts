import { composeTable, renderRemoveStale } from './compose.js';
import type { KernelFragment } from './fragment.js';
import type { NftRunner, TableObjects } from './nft.js';

export interface KernelTableLog {
  error(obj: object, msg: string): void;
}

/**
 * The composed table's script, plus the removal of what the kernel's table holds that no fragment declares
 * any more (a module switched off). Throws KernelFragmentError for invalid or colliding fragments. Listing
 * the table is only for that cleanup: when it fails, the script still protects, and the cleanup waits for
 * the next reconcile.
 */
export async function tableDeclarations(nft: NftRunner, table: string, fragments: readonly KernelFragment[], log: KernelTableLog, opts: { readonly keepStale?: boolean } = {}): Promise<string> {
  const composed = composeTable(table, fragments);
  let existing: TableObjects | undefined;
  // Before the modules' fragments are known (the firewall's first reconcile at its start), what a previous
  // run left stays as it is — a shaper's maps, a portal's grants, and the base chains' rules that jump to
  // them: flushing `forward` to refill it with the firewall's rules alone would let unauthorised portal
  // clients through, and leave traffic unclassified, until the fragments come back a moment later
  // (setFragments then recomposes everything). A table that is not there yet is made whole.
  if (opts.keepStale) return (await nft.hasTable(table)) ? composed.declarations : composed.script;
  try {
    existing = await nft.listObjects?.(table);
  } catch (e) {
    log.error({ err: (e as Error).message }, 'could not list the table; objects no module declares stay until the next reconcile');
  }
  const stale = existing ? renderRemoveStale(table, composed, existing) : [];
  return stale.length > 0 ? `${composed.script}${stale.join('\n')}\n` : composed.script;
}

/**
 * Applies the whole table in one transaction when the reputation firewall is off (with it on, its enforcer
 * does this at every reconcile, together with its sets' contents). No fragments, no nft: a gateway whose
 * modules need no kernel table gets none. Returns whether it applied anything.
 */
export async function applyKernelTable(nft: NftRunner, table: string, fragments: readonly KernelFragment[], log: KernelTableLog): Promise<boolean> {
  if (fragments.length === 0) return false;
  await nft.apply(await tableDeclarations(nft, table, fragments, log));
  return true;
}
