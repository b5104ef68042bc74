import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isAlias, isCollection, isPair, type Document, type Node } from 'yaml';

/**
 * A Gatehouse config is a few KB; lists of addresses belong in feed files. Parsing YAML costs about a
 * hundred times the file's size in memory (a 15 MB file peaked at 1.3 GB), so the file is capped.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Values YAML aliases may add to a document in total: plenty for sharing a list or two. */
export const MAX_ALIAS_VALUES = 10_000;

export class ConfigTooLargeError extends Error {
  override name = 'ConfigTooLargeError';
}

const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;

/**
 * Reads at most MAX_CONFIG_BYTES (+1 to tell a bigger file); throws ConfigTooLargeError naming the size and
 * the limit. Reads by hand so that a FIFO or a device (/dev/zero) cannot make it read forever.
 */
export function readConfigFileCapped(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error('it is a directory'), { code: 'EISDIR' });
    if (st.isFile() && st.size > MAX_CONFIG_BYTES) {
      throw new ConfigTooLargeError(`the config file is ${mib(st.size)}; the limit is ${MAX_CONFIG_BYTES / (1024 * 1024)} MiB (lists of addresses belong in a feed file)`);
    }
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > MAX_CONFIG_BYTES) throw new ConfigTooLargeError(`the config file is larger than ${MAX_CONFIG_BYTES / (1024 * 1024)} MiB (the limit)`);
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * How many values the document's aliases add when expanded (nested aliases included), stopping as soon
 * as the count passes `limit`. The yaml library's own guard (maxAliasCount) counts uses of an alias, not
 * their size: one 12,000-element anchor used 90 times passes it and expands to a million values.
 */
export function aliasExpansion(doc: Document, limit = MAX_ALIAS_VALUES): number {
  const sizes = new Map<Node, number>();
  const sizeOf = (node: unknown, depth: number): number => {
    if (depth > 64) return Infinity; // an alias inside its own anchor, or absurd nesting
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target) return 1;
      let s = sizes.get(target);
      if (s === undefined) {
        s = sizeOf(target, depth + 1);
        sizes.set(target, s);
      }
      return s;
    }
    if (isPair(node)) return sizeOf(node.key, depth + 1) + sizeOf(node.value, depth + 1);
    if (isCollection(node)) {
      let s = 1;
      for (const item of node.items) {
        s += sizeOf(item, depth + 1);
        if (s > limit) return s;
      }
      return s;
    }
    return 1;
  };
  let total = 0;
  const walk = (node: unknown, depth: number): void => {
    if (total > limit || depth > 64) return;
    if (isAlias(node)) {
      total += sizeOf(node, depth);
      return;
    }
    if (isPair(node)) {
      walk(node.key, depth + 1);
      walk(node.value, depth + 1);
    } else if (isCollection(node)) {
      for (const item of node.items) walk(item, depth + 1);
    }
  };
  walk(doc.contents, 0);
  return total;
}
