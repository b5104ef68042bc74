/*
 * Domain names as block/allow lists write them: validated and lower-cased, so the index only ever sees
 * the form the resolver's query parser produces (lower case, no trailing dot).
 */

export interface NameProblem {
  readonly why: string;
}

export interface NameOptions {
  /**
   * A single label ("zip") stands for a whole top-level domain. Only explicit subtree syntax (`||zip^`,
   * `*.zip`) may say that; a bare word in a hosts or domains file is far more likely a mistake.
   */
  readonly allowSingleLabel?: boolean;
}

const MAX_NAME = 253;
const MAX_LABEL = 63;

/**
 * Names local resolvers answer themselves; hosts files list them in their preamble (`127.0.0.1 localhost`,
 * `ff02::1 ip6-allnodes`), and blocking them would break the machine asking, so Pi-hole leaves them out too.
 */
const WELL_KNOWN = new Set([
  'localhost',
  'localhost.localdomain',
  'local',
  'broadcasthost',
  'ip6-localhost',
  'ip6-loopback',
  'ip6-localnet',
  'ip6-mcastprefix',
  'ip6-allnodes',
  'ip6-allrouters',
  'ip6-allhosts',
  '0.0.0.0',
]);

/** For a normalized (lower-case) name. */
export function isWellKnownLocal(name: string): boolean {
  return WELL_KNOWN.has(name);
}

export const SINGLE_LABEL: NameProblem = Object.freeze({ why: 'a single label would block a whole top-level domain' });

/**
 * The canonical form of a list's name, or why it is not a name. Letters, digits, '-' and '_' (real lists
 * carry `_` and edge hyphens, which DNS carries fine); one trailing dot is dropped; IDNs must already be
 * punycode (xn--), since a list cannot say which Unicode normalisation it meant.
 */
export function normalizeName(raw: string, opts: NameOptions = {}): string | NameProblem {
  let text = raw;
  if (text.length > 1 && text.charCodeAt(text.length - 1) === 46) text = text.slice(0, -1);
  const n = text.length;
  if (n === 0) return { why: 'empty name' };
  if (n > MAX_NAME) return { why: `name longer than ${MAX_NAME} characters` };
  let upper = false;
  let labelStart = 0;
  let labels = 1;
  let lastLabelDigitsOnly = true;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (i === labelStart) return { why: 'empty label (two dots in a row, or a leading dot)' };
      if (i - labelStart > MAX_LABEL) return { why: `label longer than ${MAX_LABEL} characters` };
      labelStart = i + 1;
      labels++;
      lastLabelDigitsOnly = true;
      continue;
    }
    if (c >= 97 && c <= 122) {
      lastLabelDigitsOnly = false;
      continue;
    }
    if (c >= 48 && c <= 57) continue;
    if (c === 45 || c === 95) {
      lastLabelDigitsOnly = false;
      continue;
    }
    if (c >= 65 && c <= 90) {
      upper = true;
      lastLabelDigitsOnly = false;
      continue;
    }
    if (c > 127) return { why: 'non-ASCII name (write internationalised names in punycode, xn--…)' };
    return { why: `character ${JSON.stringify(text[i])} is not allowed in a name` };
  }
  if (n - labelStart > MAX_LABEL) return { why: `label longer than ${MAX_LABEL} characters` };
  // No top-level domain is all digits, so this is an address (or a fragment of one), never a name.
  if (lastLabelDigitsOnly) return { why: 'an IP address or number, not a name' };
  if (labels === 1 && opts.allowSingleLabel !== true) return SINGLE_LABEL;
  return upper ? text.toLowerCase() : text;
}

export function isNameProblem(v: string | NameProblem): v is NameProblem {
  return typeof v !== 'string';
}
