/*
 * INTERIM stand-in for H2's DomainIndex (same surface): name → block/allow masks, matched on the name and
 * every parent (subtree rules); allow wins. Transferred as one UTF-8 text part.
 */
export type ListMask = number;

interface Rule {
  block: number;
  allow: number;
}

export class DomainIndex {
  private readonly rules = new Map<string, Rule>();

  add(name: string, list: number, kind: 'block' | 'allow'): void {
    const r = this.rules.get(name) ?? { block: 0, allow: 0 };
    if (kind === 'block') r.block |= 1 << list;
    else r.allow |= 1 << list;
    this.rules.set(name, r);
  }

  get size(): number {
    return this.rules.size;
  }

  match(name: string, mask: ListMask): { verdict: 'block' | 'allow' | 'none'; list?: number; matched?: string } {
    let blocked: { list: number; matched: string } | undefined;
    let n = name;
    for (;;) {
      const r = this.rules.get(n);
      if (r) {
        if (r.allow & mask) return { verdict: 'allow', list: Math.clz32(1) - Math.clz32(r.allow & mask & -(r.allow & mask)), matched: n };
        if (!blocked && r.block & mask) blocked = { list: 31 - Math.clz32(r.block & mask & -(r.block & mask)), matched: n };
      }
      const dot = n.indexOf('.');
      if (dot < 0) break;
      n = n.slice(dot + 1);
    }
    return blocked ? { verdict: 'block', ...blocked } : { verdict: 'none' };
  }

  toTransfer(): Uint8Array[] {
    const lines: string[] = [];
    for (const [n, r] of this.rules) lines.push(`${n} ${r.block} ${r.allow}`);
    return [Buffer.from(lines.join('\n'), 'utf8')];
  }

  static fromTransfer(parts: readonly Uint8Array[]): DomainIndex {
    const d = new DomainIndex();
    for (const p of parts) {
      for (const line of Buffer.from(p).toString('utf8').split('\n')) {
        const [n, b, a] = line.split(' ');
        if (n) d.rules.set(n, { block: Number(b), allow: Number(a) });
      }
    }
    return d;
  }
}
