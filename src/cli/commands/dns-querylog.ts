import type { Command } from 'commander';
import type { DnsQueryRow, DnsTopResponse } from '../../api/index.js';
import { client, withConfig, type GlobalOpts } from '../context.js';
import { printJson, table, when } from '../format.js';

/**
 * The `dns` verb group: the runtime's file may create it first (dns status, dns flush, …); whoever comes
 * second adds to the same one.
 */
export function dnsCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'dns') ?? program.command('dns').description('the DNS filter: query log, top lists, status');
}

function who(r: DnsQueryRow): string {
  return [r.client, r.mac, r.clientName].filter(Boolean).join(' ') || '-';
}

function result(r: DnsQueryRow): string {
  if (r.blocked) return `blocked: ${r.blocked.by}${r.blocked.what ? ' ' + r.blocked.what : ''}`;
  return r.rcodeName + (r.monitored ? ` (monitored: ${r.monitored})` : '');
}

function latency(us: number): string {
  return us >= 10_000 ? `${Math.round(us / 1000)}ms` : `${(us / 1000).toFixed(1)}ms`;
}

export function formatQueryLog(rows: readonly DnsQueryRow[]): string {
  return table(
    ['TIME', 'CLIENT', 'TYPE', 'NAME', 'RESULT', 'FROM', 'LATENCY', 'ANSWER'],
    rows.map((r) => [when(r.time), who(r), r.type, r.name, result(r), r.cached ? 'cache' : (r.upstream ?? '-'), latency(r.latencyUs), r.answer ?? '-']),
  );
}

export function formatTop(r: DnsTopResponse): string {
  const t = r.totals;
  const window = r.since === null ? 'whole log' : `since ${when(r.since)}`;
  return [
    `${window}: ${t.queries} queries, ${t.blocked} blocked (${t.blockedPct}%), ${t.cached} from cache (${t.cachedPct}%)`,
    '',
    'top names:',
    table(['COUNT', 'NAME'], r.names.map((n) => [String(n.count), n.name])),
    '',
    'top blocked names:',
    table(['COUNT', 'NAME'], r.blocked.map((n) => [String(n.count), n.name])),
    '',
    'top clients:',
    table(
      ['COUNT', 'BLOCKED', 'CLIENT'],
      r.clients.map((c) => [String(c.count), String(c.blocked), [c.client, c.mac, c.clientName].filter(Boolean).join(' ')]),
    ),
  ].join('\n');
}

/** `gatehouse dns log` and `gatehouse dns top`, added to the `dns` command. */
export function registerDnsQueryLog(dns: Command): void {
  withConfig(dns.command('log'))
    .description('the DNS query log, newest first: who asked for what, the answer, and why it was blocked')
    .option('--client <ip|mac|name>', 'only this LAN client')
    .option('--blocked', 'only blocked queries')
    .option('--domain <name>', 'only this name and the names under it')
    .option('--since <duration>', 'only queries in this window, e.g. 15m, 1h, 7d')
    .option('--limit <n>', 'at most this many rows', '200')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts & { client?: string; blocked?: boolean; domain?: string; since?: string; limit: string }) => {
      // The daemon checks the values and names what it takes.
      const query = { client: o.client, blocked: o.blocked ? true : undefined, domain: o.domain, since: o.since, limit: Number(o.limit) };
      const r = await client(o).send('GET /v1/dns/log', { query });
      if (o.json) return printJson(r.queries);
      console.log(formatQueryLog(r.queries));
    });

  withConfig(dns.command('top'))
    .description('the most asked names, the most blocked names and the busiest clients, with totals')
    .option('--since <duration>', 'the window, e.g. 1h, 24h, 7d', '24h')
    .option('--limit <n>', 'rows per list', '10')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts & { since: string; limit: string }) => {
      const r = await client(o).send('GET /v1/dns/top', { query: { since: o.since, limit: Number(o.limit) } });
      if (o.json) return printJson(r);
      console.log(formatTop(r));
    });
}
