import { MAX_LISTS, type ListMask } from './domain-index.js';

/*
 * Which lists apply to whom, as ListMasks (pure). Built-in groups:
 *   default — every blocklist and every allowlist;
 *   optout  — only blocklists of category `security` (phishing, malware), plus every allowlist: for
 *             clients that opted out of ad blocking but should still be kept away from known-bad sites.
 * Configured groups (`dns.groups: [{name, clients, blocklists}]`) get the blocklists they name plus every
 * allowlist (an allowlist fixes false positives, whoever suffers them). A configured group may reuse a
 * built-in name to redefine it.
 */

export type ListRole = 'block' | 'allow';

export interface ListRef {
  readonly name: string;
  readonly role: ListRole;
  /** `ads` unless the list says otherwise; only `security` means something to the built-in groups. */
  readonly category: string;
  /** 0..31, the bit in a ListMask. */
  readonly id: number;
}

export interface ListDecl {
  readonly name: string;
  readonly category?: string;
}

export interface GroupDecl {
  readonly name: string;
  readonly blocklists: readonly string[];
}

export interface ConfigProblem {
  /** Path inside the `dns:` section, e.g. ['groups', 1, 'blocklists', 0]. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export const BUILTIN_GROUPS = ['default', 'optout'] as const;
export const SECURITY_CATEGORY = 'security';

/** Ids in config order: blocklists first, then allowlists. */
export function assignListIds(
  blocklists: readonly ListDecl[],
  allowlists: readonly ListDecl[],
): { ok: true; lists: ListRef[] } | { ok: false; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const lists: ListRef[] = [];
  const seen = new Map<string, string>();
  const take = (decls: readonly ListDecl[], role: ListRole, key: 'blocklists' | 'allowlists'): void => {
    decls.forEach((d, i) => {
      const where = `${key}[${i}]`;
      const first = seen.get(d.name);
      if (first !== undefined) {
        problems.push({ path: [key, i, 'name'], message: `list name ${JSON.stringify(d.name)} is already used by ${first}` });
        return;
      }
      seen.set(d.name, where);
      lists.push({ name: d.name, role, category: d.category ?? 'ads', id: lists.length });
    });
  };
  take(blocklists, 'block', 'blocklists');
  take(allowlists, 'allow', 'allowlists');
  if (lists.length > MAX_LISTS) {
    problems.push({
      path: [allowlists.length > 0 ? 'allowlists' : 'blocklists'],
      message: `at most ${MAX_LISTS} lists in all (blocklists and allowlists together), got ${lists.length}`,
    });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, lists };
}

export function maskOf(lists: readonly ListRef[], pick: (l: ListRef) => boolean): ListMask {
  let m = 0;
  for (const l of lists) if (pick(l)) m |= 1 << l.id;
  return m >>> 0;
}

/** The mask of every group, built-in and configured; unknown or misplaced list names are problems. */
export function groupMasks(
  lists: readonly ListRef[],
  groups: readonly GroupDecl[],
): { ok: true; masks: Map<string, ListMask> } | { ok: false; problems: ConfigProblem[] } {
  const allows = maskOf(lists, (l) => l.role === 'allow');
  const masks = new Map<string, ListMask>([
    ['default', maskOf(lists, () => true)],
    ['optout', (maskOf(lists, (l) => l.role === 'block' && l.category === SECURITY_CATEGORY) | allows) >>> 0],
  ]);
  const byName = new Map(lists.map((l) => [l.name, l]));
  const blockNames = lists.filter((l) => l.role === 'block').map((l) => l.name);
  const problems: ConfigProblem[] = [];
  const configured = new Map<string, number>();
  groups.forEach((g, gi) => {
    const first = configured.get(g.name);
    if (first !== undefined) {
      problems.push({ path: ['groups', gi, 'name'], message: `group name ${JSON.stringify(g.name)} is already used by groups[${first}]` });
      return;
    }
    configured.set(g.name, gi);
    let m = allows;
    g.blocklists.forEach((name, li) => {
      const l = byName.get(name);
      const path = ['groups', gi, 'blocklists', li];
      if (l === undefined) {
        const known = blockNames.length > 0 ? ` (blocklists: ${blockNames.join(', ')})` : ' (no blocklists are configured)';
        problems.push({ path, message: `no blocklist named ${JSON.stringify(name)}${known}` });
      } else if (l.role !== 'block') {
        problems.push({ path, message: `${JSON.stringify(name)} is an allowlist; allowlists apply to every group, list only blocklists here` });
      } else {
        m |= 1 << l.id;
      }
    });
    masks.set(g.name, m >>> 0);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, masks };
}

/** "dns.groups[1].blocklists[0]" for messages outside zod. */
export function problemKey(p: ConfigProblem, section = 'dns'): string {
  let s = section;
  for (const part of p.path) s += typeof part === 'number' ? `[${part}]` : `.${part}`;
  return s;
}
