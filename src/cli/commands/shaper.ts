import type { Command } from 'commander';
import type { ShaperStatusReport, ShaperUsageResponse } from '../../api/index.js';
import { client, withConfig, type GlobalOpts } from '../context.js';
import { printJson, table, when } from '../format.js';

/** "12.3 Mbit/s", "256 kbit/s": rates as the admin set them (bits). */
export function rate(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbit/s`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  if (bps >= 1e3) return `${Math.round(bps / 1e3)} kbit/s`;
  return `${Math.round(bps)} bit/s`;
}

/** "1.2 GB", "340 MB": bytes as ISP plans count them (powers of 1000). */
export function bytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

export function formatShaperStatus(s: ShaperStatusReport): string {
  const c = s.capabilities;
  const have = (['cake', 'fq_codel', 'sfq'] as const).filter((k) => c[k]);
  const missing = (['cake', 'fq_codel', 'sfq'] as const).filter((k) => !c[k]);
  const lines = [
    `link: download ${rate(s.download)} on ${s.interfaces.lan.join(', ')} · upload ${rate(s.upload)} on ${s.interfaces.wan.join(', ')}`,
    `qdiscs: HTB per resident, leaves ${c.leaf}${have.length ? ` (available: ${have.join(', ')})` : ''}${missing.length ? `; not on this kernel: ${missing.join(', ')}` : ''}${s.probed ? '' : ' (probe could not run: assumed)'}`,
    `p2p: ${s.p2p} · conntrack accounting ${s.conntrackAcct.enabled ? 'on' : `off${s.conntrackAcct.error ? ` (${s.conntrackAcct.error})` : ''}`} · ${s.clients.length} client(s) shaped, ${s.loop.sharesCreated} added and ${s.loop.sharesRemoved} removed since start${s.loop.lastError ? ` · last error: ${s.loop.lastError}` : ''}`,
  ];
  if (s.clients.length > 0) {
    lines.push(
      '',
      table(
        ['CLIENT', 'ADDRESSES', 'DOWN', 'UP', 'TODAY DOWN', 'TODAY UP', 'CLASS', 'CONNS', 'P2P', 'FAIR USE'],
        s.clients.map((x) => [
          x.user ? `user:${x.user}` : x.mac ?? x.key,
          x.ips.join(' '),
          rate(x.downBps),
          rate(x.upBps),
          bytes(x.bytesToday.down),
          bytes(x.bytesToday.up),
          `1:${x.classId.toString(16)}`,
          String(x.connections),
          x.p2p ? `yes (${[...x.p2p.signatures, `${x.p2p.peers} peers`].join(', ')}; until ${when(x.p2p.until)})` : '-',
          x.fairUse ? 'yes' : '-',
        ]),
      ),
    );
  }
  if (s.capHits.length > 0) lines.push('', table(['CLIENT', 'CAP HIT', 'REFUSED'], s.capHits.map((h) => [h.client, h.cap, String(h.refused)])));
  return lines.join('\n');
}

export function formatUsage(r: ShaperUsageResponse): string {
  if (r.rows.length === 0) return 'no usage recorded in that window';
  return table(['HOUR', 'CLIENT', 'DOWN', 'UP'], r.rows.map((x) => [new Date(x.hour).toISOString().slice(0, 13) + ':00Z', x.client, bytes(x.down), bytes(x.up)]));
}

/** `gatehouse shaper status|usage`. */
export function registerShaper(program: Command): void {
  const shaper = program.command('shaper').description('the fair-share shaper: link rates, qdiscs, per-client rates and usage');

  withConfig(shaper.command('status'))
    .description('link rates, the qdiscs in use, and per client: rates, bytes today, class, P2P flag, connections')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/shaper/status');
      if (o.json) return printJson(r);
      console.log(formatShaperStatus(r));
    });

  withConfig(shaper.command('fair-use <state> <ips...>'))
    .description('put a client (its addresses) in the fair-use class, or take it out: fair-use on|off IP [IP…]')
    .option('--reason <text>', 'why (logged)', 'admin')
    .option('--json', 'print JSON')
    .action(async (state: string, ips: string[], o: GlobalOpts & { reason: string }) => {
      if (state !== 'on' && state !== 'off') throw new Error(`fair-use: the state is on or off, not ${JSON.stringify(state)}`);
      const r = await client(o).send('POST /v1/shaper/fair-use', { body: { ips, on: state === 'on', reason: o.reason } });
      if (o.json) return printJson(r);
      console.log(`${r.ips.join(', ')}: fair use ${r.on ? 'on' : 'off'}`);
    });

  withConfig(shaper.command('usage'))
    .description('bytes per client per hour (the store keeps them for the dashboard)')
    .option('--client <key>', 'one client: mac:…, user:… or ip:…')
    .option('--hours <n>', 'how many hours back', '24')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts & { client?: string; hours: string }) => {
      const r = await client(o).send('GET /v1/shaper/usage', { query: { hours: o.hours, ...(o.client ? { client: o.client } : {}) } });
      if (o.json) return printJson(r);
      console.log(formatUsage(r));
    });
}
