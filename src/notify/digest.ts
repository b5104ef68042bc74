import type { BlockEvent } from '../store/index.js';
import { whyText } from './detect.js';
import type { Message } from './types.js';

/** What the digest reads of a feed: name, entries, last success, warning. */
export interface DigestFeed {
  readonly name: string;
  readonly entries: number;
  readonly lastSuccessAt: number | null;
  readonly warning: string | null;
}

export interface DigestInput {
  readonly from: number;
  readonly to: number;
  /** Block event rows last seen within the day. */
  readonly blocks: readonly BlockEvent[];
  readonly feeds: readonly DigestFeed[];
  /** Lines that need the admin: undelivered messages, firewall errors. */
  readonly attention: readonly string[];
}

const day = (t: number): string => {
  const d = new Date(t);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

/** Yesterday in one message: outbound blocks by client with domains and reasons, top attackers, feeds, to-dos. */
export function renderDigest(d: DigestInput, at: number): Message {
  const out = d.blocks.filter((b) => b.direction === 'outbound');
  const inb = d.blocks.filter((b) => b.direction === 'inbound');
  const lines: string[] = [];
  // One array and one running total per client: push, never copy (one noisy client can own 100k rows).
  const clients = new Map<string, { rows: BlockEvent[]; total: number }>();
  for (const b of out) {
    const k = b.clientName ? `${b.clientName} (${b.clientIp})` : b.clientIp;
    let c = clients.get(k);
    if (!c) clients.set(k, (c = { rows: [], total: 0 }));
    c.rows.push(b);
    c.total += b.count;
  }
  lines.push(`Outbound blocks: ${out.reduce((s, b) => s + b.count, 0)} attempts from ${clients.size} client(s)`);
  const sorted = [...clients].sort((a, b) => b[1].total - a[1].total);
  for (const [client, { rows, total }] of sorted.slice(0, 20)) {
    lines.push(`  ${client}: ${total} attempts to ${rows.length} remote(s)`);
    for (const r of rows.sort((a, b) => b.count - a.count).slice(0, 10)) {
      lines.push(`    ${r.remoteIp}${r.domain ? ` (${r.domain})` : ''} ×${r.count}${r.mode === 'monitored' ? ' (monitor only)' : ''} — ${whyText(r)}`);
    }
  }
  const attackers = new Map<string, { count: number; why: string }>();
  for (const b of inb) {
    const a = attackers.get(b.remoteIp);
    attackers.set(b.remoteIp, { count: (a?.count ?? 0) + b.count, why: a?.why ?? whyText(b) });
  }
  lines.push('', `Inbound: ${inb.reduce((s, b) => s + b.count, 0)} blocked attempts from ${attackers.size} address(es)`);
  for (const [ip, a] of [...attackers].sort((x, y) => y[1].count - x[1].count).slice(0, 10)) lines.push(`  ${ip} ×${a.count} — ${a.why}`);
  lines.push('', 'Feeds:');
  if (d.feeds.length === 0) lines.push('  (none configured)');
  for (const f of d.feeds) {
    lines.push(`  ${f.name}: ${f.entries} entries, last refresh ${f.lastSuccessAt ? new Date(f.lastSuccessAt).toISOString() : 'never'}${f.warning ? ` — WARNING: ${f.warning}` : ''}`);
  }
  lines.push('', 'Needs you:');
  if (d.attention.length === 0) lines.push('  nothing');
  for (const a of d.attention) lines.push(`  ${a}`);
  return {
    kind: 'digest',
    severity: d.attention.length > 0 ? 'warning' : 'info',
    subject: `Daily digest for ${day(d.from)}: ${out.reduce((s, b) => s + b.count, 0)} outbound, ${inb.reduce((s, b) => s + b.count, 0)} inbound blocks`,
    text: lines.join('\n'),
    at,
    items: [],
  };
}
