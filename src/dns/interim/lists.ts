import { readFile } from 'node:fs/promises';
import type { DnsListConfig } from '../config.js';
import type { DnsListStatus } from '../types.js';
import { DomainIndex } from './domain-index.js';

/*
 * INTERIM stand-in for H2's DnsLists: loads dns.blocklists / dns.allowlists (file or url), parses hosts,
 * domains and adblock lines, keeps the last good parse per list, and rebuilds the domain index.
 */

export interface ListSpec {
  readonly id: number;
  readonly kind: 'block' | 'allow';
  readonly config: DnsListConfig;
}

interface Loaded {
  rules: { name: string; allow: boolean }[];
  refreshedAt: number | null;
  lastError: string | null;
}

const NAME = /^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;
const SINK = new Set(['0.0.0.0', '127.0.0.1', '::', '::1', '0', 'localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback']);

export function parseDomainLines(text: string, format: DnsListConfig['format']): { name: string; allow: boolean }[] {
  const out: { name: string; allow: boolean }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line || line.startsWith('!') || line.startsWith('[')) continue;
    let name: string | undefined;
    let allow = false;
    if (format === 'adblock') {
      const m = /^(@@)?\|\|([^\^/$]+)\^?(\$.*)?$/.exec(line);
      if (!m || m[3]) continue;
      allow = m[1] === '@@';
      name = m[2];
    } else if (format === 'hosts') {
      const parts = line.split(/\s+/);
      name = parts.length >= 2 ? parts[1] : parts[0];
    } else name = line.split(/\s+/)[0];
    const n = name?.toLowerCase().replace(/\.$/, '');
    if (n && !SINK.has(n) && n.length <= 253 && NAME.test(n)) out.push({ name: n, allow });
  }
  return out;
}

export class DnsLists {
  private readonly loaded = new Map<number, Loaded>();
  private builtAt: number | null = null;
  private size = 0;

  constructor(
    private readonly specs: readonly ListSpec[],
    private readonly inline: { readonly block: readonly string[]; readonly allow: readonly string[]; readonly blockId: number; readonly allowId: number },
    private readonly onIndex: (index: DomainIndex) => void,
  ) {}

  /** Loads every list (failures are kept as lastError) and hands over the index. */
  async refreshAll(): Promise<void> {
    await Promise.all(this.specs.map((s) => this.load(s)));
    this.rebuild();
  }

  async refresh(name: string): Promise<boolean> {
    const s = this.specs.find((x) => x.config.name === name);
    if (!s) return false;
    await this.load(s);
    this.rebuild();
    return true;
  }

  private async load(s: ListSpec): Promise<void> {
    const prev = this.loaded.get(s.id) ?? { rules: [], refreshedAt: null, lastError: null };
    try {
      const c = s.config;
      let text: string;
      if (c.type === 'file') text = await readFile(c.path ?? '', 'utf8');
      else {
        const r = await fetch(c.url ?? '', { signal: AbortSignal.timeout(c.timeout) });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        text = await r.text();
      }
      const rules = parseDomainLines(text, c.format);
      if (prev.rules.length > 0 && rules.length < prev.rules.length * (1 - c.max_shrink)) {
        throw new Error(`refused: ${rules.length} rules after ${prev.rules.length} (shrank more than max_shrink); keeping the previous list`);
      }
      this.loaded.set(s.id, { rules, refreshedAt: Date.now(), lastError: null });
    } catch (e) {
      this.loaded.set(s.id, { ...prev, lastError: (e as Error).message });
    }
  }

  private rebuild(): void {
    const index = new DomainIndex();
    for (const s of this.specs) {
      for (const r of this.loaded.get(s.id)?.rules ?? []) index.add(r.name, s.id, s.kind === 'allow' || r.allow ? 'allow' : 'block');
    }
    for (const n of this.inline.block) index.add(n, this.inline.blockId, 'block');
    for (const n of this.inline.allow) index.add(n, this.inline.allowId, 'allow');
    this.builtAt = Date.now();
    this.size = index.size;
    this.onIndex(index);
  }

  indexInfo(): { rules: number; builtAt: number | null } {
    return { rules: this.size, builtAt: this.builtAt };
  }

  status(): DnsListStatus[] {
    return this.specs.map((s) => {
      const l = this.loaded.get(s.id);
      return {
        name: s.config.name,
        kind: s.kind,
        source: s.config.type === 'url' ? (s.config.url ?? '') : (s.config.path ?? ''),
        format: s.config.format,
        category: s.config.category,
        rules: l?.rules.length ?? 0,
        refreshedAt: l?.refreshedAt ?? null,
        lastError: l?.lastError ?? null,
      };
    });
  }
}
