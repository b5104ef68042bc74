import type { Command } from 'commander';
import type { BlockDirection, BlockEvent, ExplainResponse, GatehouseStatus, ModuleStatus } from '../../api/index.js';
import { client, withConfig, type GlobalOpts } from '../context.js';
import { printJson, table, when } from '../format.js';
import { formatDecisions } from './decisions.js';

function who(b: BlockEvent): string {
  return [b.clientIp, b.clientMac, b.clientName].filter(Boolean).join(' ');
}

export function reasonText(b: BlockEvent): string {
  if (b.decisions.length === 0) return '(decision since removed)';
  return b.decisions.map((d) => `#${d.id} ${d.origin}${d.scenario ? '/' + d.scenario : ''}${d.reason ? ': ' + d.reason : ''}`).join('; ');
}

export function formatBlocks(blocks: readonly BlockEvent[]): string {
  return table(
    ['LAST SEEN', 'DIRECTION', 'MODE', 'CLIENT', 'REMOTE', 'PORT', 'COUNT', 'FIRST SEEN', 'WHY'],
    blocks.map((b) => [
      when(b.lastSeen),
      b.direction,
      b.mode === 'blocked' ? 'blocked' : 'would block',
      who(b),
      b.remoteIp + (b.domain ? ` (${b.domain})` : ''),
      `${b.port ? b.port + '/' : ''}${b.protocol}`,
      String(b.count),
      when(b.firstSeen),
      reasonText(b),
    ]),
  );
}

/** `gatehouse explain IP`: the verdict, then what covers it, the names it was looked up as, and who hit it. */
export function formatExplain(r: ExplainResponse): string {
  const verdict =
    r.verdict === 'allowed'
      ? `${r.value} is ALLOWED (the allowlist beats ${r.decisions.length} decision(s))`
      : r.verdict === 'listed'
        ? `${r.value} is LISTED by ${r.decisions.length} decision(s)`
        : `${r.value} is not listed`;
  const parts = [verdict];
  if (r.allow.length > 0) parts.push('', 'allow entries:', table(['ID', 'VALUE', 'REASON'], r.allow.map((a) => [String(a.id), a.value, a.reason || '-'])));
  if (r.decisions.length > 0) parts.push('', 'decisions:', formatDecisions(r.decisions));
  // Older daemons answer without `domains`.
  const domains = r.domains ?? [];
  if (domains.length > 0) {
    parts.push(
      '',
      'looked up as (names LAN clients resolved to it before connecting):',
      table(['DOMAIN', 'CLIENTS', 'LAST SEEN'], domains.map((d) => [d.domain, d.clients.join(', '), when(d.lastSeen)])),
    );
  }
  if (r.blocks.length > 0) parts.push('', 'clients that hit it:', formatBlocks(r.blocks));
  if (r.asClient.length > 0) parts.push('', 'as a LAN client, it hit:', formatBlocks(r.asClient));
  return parts.join('\n');
}

/** A module's line: its own words, else the plain values of what it reports (table=gatehouse refused=0). */
function moduleDetail(m: ModuleStatus): string {
  if (m.detail) return m.detail;
  const plain = Object.entries(m.status ?? {}).filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object');
  return plain.length > 0 ? plain.map(([k, v]) => `${k}=${String(v)}`).join(' ') : '-';
}

/** `gatehouse status`: the daemon, its modules, and what the firewall enforces. */
export function formatStatus(r: GatehouseStatus): string {
  const lines = [
    `gatehouse ${r.version} up since ${when(r.startedAt)}; ${r.decisions} active decisions, ${r.allow} allow entries`,
    '',
    table(['MODULE', 'STATE', 'DETAIL'], r.modules.map((m) => [m.name, m.state, moduleDetail(m)])),
  ];
  const fw = r.firewall;
  if (fw) {
    lines.push('', `table inet ${fw.table}: inbound ${fw.inbound}, outbound ${fw.outbound}${fw.lastError ? `; LAST ERROR: ${fw.lastError}` : ''}`);
    if (fw.refused) lines.push(`NOT ENFORCED: nft refused ${fw.refused} element(s), left out so the rest is enforced: ${fw.refusedSamples.join(', ')} (see the daemon log)`);
  }
  // How late the daemon's event loop ran: a stall delays every API, the LAPI and the kernel writer.
  const loop = r.eventLoop;
  lines.push('', `event loop: delay p99 ${loop.p99Ms} ms, max ${loop.maxMs} ms since ${when(loop.since)}`);
  return lines.join('\n');
}

export function registerBlocks(program: Command): void {
  withConfig(program.command('blocks'))
    .description('block report: who tried to reach what, when, how often, and why it is listed')
    .option('--direction <dir>', 'outbound (LAN → internet) or inbound (internet → here)')
    .option('--since <duration>', 'only events seen in this window, e.g. 1h, 24h')
    .option('--client <ip|mac|name>', 'only this LAN client')
    .option('--limit <n>', 'at most this many rows', '200')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts & { direction?: string; since?: string; client?: string; limit: string }) => {
      // The daemon checks the values and names what it takes.
      const query = { limit: Number(o.limit), direction: o.direction as BlockDirection | undefined, since: o.since, client: o.client };
      const r = await client(o).send('GET /v1/blocks', { query });
      if (o.json) return printJson(r.blocks);
      console.log(formatBlocks(r.blocks));
    });

  withConfig(program.command('explain <ip>'))
    .description('every decision and allow entry that covers an IP or range, and every client that hit it')
    .option('--json', 'print JSON')
    .action(async (ip: string, o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/explain/:value', { params: { value: ip } });
      if (o.json) return printJson(r);
      console.log(formatExplain(r));
    });

  withConfig(program.command('status'))
    .description('is the daemon up, and what is it enforcing')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/status');
      if (o.json) return printJson(r);
      console.log(formatStatus(r));
    });
}
