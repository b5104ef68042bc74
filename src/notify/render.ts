import type { WebhookTemplate } from './config.js';
import { SEVERITIES, severityRank, type Message, type Notice, type RuleKind, type Severity } from './types.js';

const TITLES: Readonly<Record<RuleKind, [one: string, many: string]>> = {
  outbound_block_new: ['New outbound block', 'new outbound blocks'],
  inbound_burst: ['Inbound attack burst', 'inbound attack bursts'],
  feed_problem: ['Feed problem', 'feed problems'],
  lapi_unreachable: ['CrowdSec LAPI unreachable', 'CrowdSec LAPI failures'],
  daemon_restarted: ['Gatehouse restarted', 'Gatehouse restarts'],
  portal_bruteforce: ['Portal brute-force', 'portal brute-force alerts'],
  p2p_flagged: ['Client flagged for P2P', 'P2P flags'],
};

export function maxSeverity(ns: readonly Pick<Notice, 'severity'>[]): Severity {
  return SEVERITIES[Math.max(0, ...ns.map((n) => severityRank(n.severity)))]!;
}

/** One message for a group of notices of one kind and key. */
export function renderGroup(kind: RuleKind, key: string, notices: readonly Notice[], more: number, at: number): Message {
  const [one, many] = TITLES[kind];
  const total = notices.length + more;
  const subject = total === 1 ? `${one}: ${notices[0]!.text}` : `${key}: ${total} ${many}`;
  const lines = notices.map((n) => `- ${new Date(n.at).toISOString()} ${n.text}`);
  if (more > 0) lines.push(`- … and ${more} more`);
  return {
    kind,
    severity: maxSeverity(notices),
    subject: subject.length > 200 ? `${subject.slice(0, 197)}...` : subject,
    text: `${total === 1 ? one : `${total} ${many}`} (${key}):\n${lines.join('\n')}`,
    at,
    items: notices.map((n) => ({ text: n.text, at: n.at, data: n.data })),
  };
}

/** A webhook's body and content type for a template: the chat services' own shapes. */
export function webhookBody(m: Message, template: WebhookTemplate): { body: string; contentType: string; headers: Record<string, string> } {
  const plain = `${m.subject}\n\n${m.text}`;
  switch (template) {
    case 'json':
      return { body: JSON.stringify({ source: 'gatehouse', kind: m.kind, severity: m.severity, subject: m.subject, text: m.text, at: new Date(m.at).toISOString(), count: m.items.length, items: m.items }), contentType: 'application/json', headers: {} };
    case 'slack':
      return { body: JSON.stringify({ text: plain }), contentType: 'application/json', headers: {} };
    case 'discord':
      // Discord refuses content over 2000 characters.
      return { body: JSON.stringify({ content: plain.length > 1990 ? `${plain.slice(0, 1987)}...` : plain }), contentType: 'application/json', headers: {} };
    case 'matrix':
      return { body: JSON.stringify({ msgtype: 'm.text', body: plain }), contentType: 'application/json', headers: {} };
    case 'ntfy': {
      const priority = m.severity === 'critical' ? '5' : m.severity === 'warning' ? '4' : '3';
      // ntfy takes the title in a header: keep it to printable ASCII.
      return { body: m.text, contentType: 'text/plain; charset=utf-8', headers: { Title: m.subject.replace(/[^\x20-\x7e]/g, '?'), Priority: priority, Tags: 'shield' } };
    }
  }
}
