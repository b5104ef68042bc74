/*
 * Kernel set sizes from nft's JSON: `nft -t -j list sets table inet T` names the sets without their
 * elements (cheap), then `nft -j list set inet T NAME` per set counts them.
 */

/** Set names in a terse `list sets` answer. */
export function setNames(json: unknown, table: string): string[] {
  const items = (json as { nftables?: unknown[] } | undefined)?.nftables;
  if (!Array.isArray(items)) return [];
  const out: string[] = [];
  for (const it of items) {
    const s = (it as { set?: { name?: unknown; table?: unknown; family?: unknown } }).set;
    if (s && s.table === table && s.family === 'inet' && typeof s.name === 'string') out.push(s.name);
  }
  return out;
}

/** Elements in a `list set` answer. */
export function elementCount(json: unknown): number {
  const items = (json as { nftables?: unknown[] } | undefined)?.nftables;
  if (!Array.isArray(items)) return 0;
  for (const it of items) {
    const s = (it as { set?: { elem?: unknown } }).set;
    if (s) return Array.isArray(s.elem) ? s.elem.length : 0;
  }
  return 0;
}

export const SET_NAME = /^[A-Za-z0-9_]{1,64}$/;
