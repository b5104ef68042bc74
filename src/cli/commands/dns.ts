import type { Command } from 'commander';
import type { DnsExplain, DnsListStatus, DnsStatus } from '../../api/index.js';
import { client, withConfig, type GlobalOpts } from '../context.js';
import { printJson, table, when } from '../format.js';
import { dnsCommand } from './dns-querylog.js';

const n = (x: number) => x.toLocaleString('en-US');

export function formatDnsStatus(s: DnsStatus): string {
  const t = s.totals;
  const avgMs = t.upstreamCount > 0 ? (t.upstreamUs / t.upstreamCount / 1000).toFixed(1) : '-';
  const lines = [
    `DNS resolver on ${s.listen.join(', ')}: ${s.workers.length} worker(s), ${s.qps} queries/s now`,
    `${n(t.queries)} queries: ${n(t.cached)} from the cache, ${n(t.blocked)} blocked, ${n(t.servfail)} SERVFAIL, ${n(t.formerr)} FORMERR, ${n(t.tcp)} over TCP, ${n(t.truncated)} truncated; upstream ${avgMs} ms on average`,
    `domain index: ${n(s.domainIndex.rules)} names${s.domainIndex.builtAt ? ` (built ${when(s.domainIndex.builtAt)})` : ' (no list loaded yet)'}; answer check ${s.answerCheck} against ${n(s.ipIndex.entries)} outbound decisions`,
    `opted out: ${s.optout.length > 0 ? s.optout.join(', ') : 'nobody'}`,
    '',
    table(
      ['WORKER', 'PID', 'RESTARTS', 'QUERIES', 'CACHE ENTRIES', 'HIT RATE', 'LAST REPORT'],
      s.workers.map((w, i) => {
        const asked = w.cache.hits + w.cache.misses;
        return [String(i), w.pid ? String(w.pid) : '(restarting)', String(w.restarts), n(w.counters.queries), n(w.cache.entries), asked ? `${Math.round((w.cache.hits * 100) / asked)}%` : '-', when(w.lastReport)];
      }),
    ),
  ];
  const ups = s.workers[0]?.upstreams ?? [];
  if (ups.length > 0) {
    lines.push('', table(['UPSTREAM', 'STATE', 'LATENCY', 'ERRORS'], ups.map((u) => [u.name, u.ok ? 'ok' : 'DOWN', `${u.latencyMs} ms`, String(u.errors)])));
  }
  return lines.join('\n');
}

export function formatDnsLists(lists: readonly DnsListStatus[]): string {
  if (lists.length === 0) return 'no DNS lists configured (dns.blocklists, dns.allowlists)';
  return table(
    ['NAME', 'KIND', 'CATEGORY', 'FORMAT', 'NAMES', 'SKIPPED', 'REFRESHED', 'NEXT', 'SOURCE', 'LAST ERROR'],
    lists.map((l) => [l.name, l.role, l.category, l.format, n(l.entries), n(l.skipped), when(l.lastRefreshAt), when(l.nextRunAt), l.source, l.lastError ?? '-']),
  );
}

export function formatExplain(e: DnsExplain): string {
  const head = `${e.name} ${e.qtype} asked by ${e.client} (group ${e.group}): ${e.verdict.toUpperCase()}, ${e.rcode}`;
  const lines = [head, `why: ${e.why}`];
  if (e.answers.length > 0) lines.push(`answer: ${e.answers.join(', ')}`);
  if (e.cached) lines.push('(from the cache)');
  else if (e.upstream) lines.push(`(asked ${e.upstream})`);
  return lines.join('\n');
}

/** `gatehouse dns status|lists|refresh|query|flush|optout`, next to the query log's `dns log|top`. */
export function registerDns(program: Command): void {
  const dns = dnsCommand(program);

  withConfig(dns.command('status'))
    .description('the resolver: listeners, workers, counters, cache, upstream health')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/dns/status');
      if (o.json) return printJson(r);
      console.log(formatDnsStatus(r));
    });

  withConfig(dns.command('lists'))
    .description('block and allow lists: names loaded, last refresh, errors')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/dns/lists');
      if (o.json) return printJson(r.lists);
      console.log(formatDnsLists(r.lists));
    });

  withConfig(dns.command('refresh [name]'))
    .description('download one list (or all) now; the previous entries stay if the download looks broken')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, o: GlobalOpts) => {
      const r = await client(o).send('POST /v1/dns/refresh', { query: name ? { name } : {} });
      if (o.json) return printJson(r.lists);
      console.log(formatDnsLists(r.lists));
    });

  withConfig(dns.command('query <name>'))
    .description('what the resolver would answer for NAME, and why (which list, group or decision)')
    .option('--client <ip>', 'answer as this LAN client would be answered (its group, its opt-out)')
    .option('-t, --type <type>', 'record type', 'A')
    .option('--json', 'print JSON')
    .action(async (name: string, o: GlobalOpts & { client?: string; type: string }) => {
      const r = await client(o).send('GET /v1/dns/query', { query: { name, type: o.type, ...(o.client ? { client: o.client } : {}) } });
      if (o.json) return printJson(r);
      console.log(formatExplain(r));
    });

  withConfig(dns.command('flush'))
    .description('empty every worker\'s cache')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('POST /v1/dns/flush');
      if (o.json) return printJson(r);
      console.log('DNS cache flushed');
    });

  const optout = dns.command('optout').description('clients whose DNS is not filtered by ad lists (security lists still apply)');
  withConfig(optout.command('list'))
    .description('clients that opted out')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/dns/optout');
      if (o.json) return printJson(r.optout);
      console.log(r.optout.length > 0 ? r.optout.join('\n') : 'nobody opted out');
    });
  withConfig(optout.command('add <client>'))
    .description('stop filtering ads for CLIENT (an IP, CIDR, MAC or device name)')
    .option('--json', 'print JSON')
    .action(async (c: string, o: GlobalOpts) => {
      const r = await client(o).send('POST /v1/dns/optout', { body: { client: c } });
      if (o.json) return printJson(r);
      console.log(r.changed ? `${c} opted out of DNS ad filtering` : `${c} had already opted out`);
    });
  withConfig(optout.command('delete <client>'))
    .description('filter CLIENT again')
    .option('--json', 'print JSON')
    .action(async (c: string, o: GlobalOpts) => {
      const r = await client(o).send('DELETE /v1/dns/optout/:client', { params: { client: c } });
      if (o.json) return printJson(r);
      console.log(`${c} is filtered again`);
    });
}
