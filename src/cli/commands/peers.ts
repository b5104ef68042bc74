import type { Command } from 'commander';
import type { FeedStatus, FeedsResponse } from '../../api/index.js';
import { client, withConfig, type GlobalOpts } from '../context.js';
import { printJson, table, when } from '../format.js';

function feedRows(fs: readonly FeedStatus[]): string {
  return table(
    ['NAME', 'TYPE', 'DIRECTION', 'ENTRIES', 'SKIPPED', 'LAST OK', 'NEXT', 'SOURCE', 'WARNING'],
    fs.map((f) => [f.name, f.type, f.direction, String(f.entries), String(f.skipped), when(f.lastSuccessAt), when(f.nextRunAt), f.source, f.warning ?? '-']),
  );
}

/** One line per running feed, e.g. "bench: downloading 12.0 of 30.1 MiB" or "bench: applying +1,000,000 -0". */
export function progressLine(fs: readonly FeedStatus[], only?: string): string {
  const parts: string[] = [];
  for (const f of fs) {
    const p = f.progress;
    if (!p || (only !== undefined && f.name !== only)) continue;
    const mib = (n: number) => (n / 1048576).toFixed(1);
    parts.push(
      p.phase === 'downloading'
        ? `${f.name}: downloading ${mib(p.bytes)}${p.total !== undefined ? ` of ${mib(p.total)}` : ''} MiB`
        : `${f.name}: applying +${p.added.toLocaleString('en-US')} -${p.removed.toLocaleString('en-US')}`,
    );
  }
  return parts.join(', ');
}

/** Polls the feed list twice a second and rewrites one status line on stderr; returns the stop function ("done"/"failed"). */
function showProgress(poll: () => Promise<FeedsResponse>, only: string | undefined): (last: string) => void {
  let shown = `refreshing ${only ?? 'all feeds'}…`;
  process.stderr.write(shown);
  let stopped = false;
  const timer = setInterval(() => {
    void poll()
      .then((r) => {
        const line = progressLine(r.feeds, only);
        if (stopped || !line) return;
        process.stderr.write(`\r${line.padEnd(shown.length)}`);
        shown = line;
      })
      .catch(() => undefined);
  }, 500);
  return (last) => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    process.stderr.write(`\r${`refresh of ${only ?? 'all feeds'}: ${last}`.padEnd(shown.length)}\n`);
  };
}

export function registerPeers(program: Command): void {
  const feeds = program.command('feeds').description('blocklist feeds and CrowdSec LAPIs Gatehouse pulls decisions from');
  withConfig(feeds.command('list'))
    .description('each feed: last result, entries, skipped lines, next refresh, warnings')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/feeds');
      if (o.json) return printJson(r.feeds);
      console.log(feedRows(r.feeds));
    });
  withConfig(feeds.command('refresh [name]'))
    .description('fetch one feed (or all) now and wait for the result')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, o: GlobalOpts) => {
      const api = client(o);
      // On a terminal, show how far a long refresh got (download bytes, then the size of the change).
      const stop = process.stderr.isTTY && !o.json ? showProgress(() => api.send('GET /v1/feeds'), name) : undefined;
      try {
        const r = await api.send('POST /v1/feeds/refresh', { query: { name } });
        stop?.('done');
        // A refused or failed refresh is an error for scripts, even though the old list stays in force.
        if (r.feeds.some((f) => f.warning)) process.exitCode = 1;
        if (o.json) return printJson(r.feeds);
        console.log(feedRows(r.feeds));
      } finally {
        stop?.('failed');
      }
    });

  for (const kind of ['bouncers', 'machines'] as const) {
    const secret = kind === 'bouncers' ? 'key' : 'password';
    const g = program
      .command(kind)
      .description(kind === 'bouncers' ? 'API keys of CrowdSec bouncers that pull our decisions' : 'CrowdSec watchers (agents) that push alerts to us');
    withConfig(g.command('add <name>'))
      .description(`create credentials; the ${secret} is printed once, alone on the last line (stored hashed)`)
      .option(`--${secret} <value>`, `use this ${secret} instead of a random one`)
      .option('--json', 'print JSON')
      .action(async (name: string, o: GlobalOpts & { key?: string; password?: string }) => {
        const api = client(o);
        const r = kind === 'bouncers' ? await api.send('POST /v1/bouncers', { body: { name, key: o.key } }) : await api.send('POST /v1/machines', { body: { name, password: o.password } });
        if (o.json) return printJson(r);
        console.log(`${kind === 'bouncers' ? 'API key' : 'password'} for '${name}' (shown only now):`);
        console.log('key' in r ? r.key : r.password);
      });
    withConfig(g.command('list'))
      .option('--json', 'print JSON')
      .action(async (o: GlobalOpts) => {
        const api = client(o);
        const text = (v: string) => v || '-';
        if (kind === 'bouncers') {
          const { bouncers } = await api.send('GET /v1/bouncers');
          if (o.json) return printJson(bouncers);
          console.log(table(['NAME', 'IP_ADDRESS', 'TYPE', 'VERSION', 'LAST_PULL'], bouncers.map((b) => [b.name, text(b.ipAddress), text(b.type), text(b.version), when(b.lastPull)])));
        } else {
          const { machines } = await api.send('GET /v1/machines');
          if (o.json) return printJson(machines);
          console.log(table(['MACHINE_ID', 'IP_ADDRESS', 'LAST_HEARTBEAT'], machines.map((m) => [m.machineId, text(m.ipAddress), when(m.lastHeartbeat)])));
        }
      });
    withConfig(g.command('delete <name>'))
      .action(async (name: string, o: GlobalOpts) => {
        await client(o).send(kind === 'bouncers' ? 'DELETE /v1/bouncers/:name' : 'DELETE /v1/machines/:name', { params: { name } });
        console.log(`${kind.slice(0, -1)} '${name}' deleted`);
      });
  }
}
