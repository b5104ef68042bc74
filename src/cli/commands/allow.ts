import type { Command } from 'commander';
import { client, withConfig, type GlobalOpts } from '../context.js';
import { printJson, remaining, table, when } from '../format.js';

export function registerAllow(program: Command): void {
  const g = program.command('allow').description('allowlist: IPs and ranges that are never blocked (they beat every decision)');

  withConfig(g.command('add <value>'))
    .description('never block this IP or CIDR range')
    .option('-r, --reason <text>', 'why')
    .option('-d, --duration <duration>', 'temporary allow, e.g. 1h')
    .option('--force', 'allow it even if it is broader than /8 (IPv4) or /16 (IPv6)')
    .option('--json', 'print JSON')
    .action(async (value: string, o: GlobalOpts & { reason?: string; duration?: string; force?: boolean }) => {
      const r = await client(o).send('POST /v1/allow', { body: { value, reason: o.reason, duration: o.duration, ...(o.force ? { force: true } : {}) } });
      if (o.json) return printJson(r.allow);
      console.log(`allow entry ${r.allow.id}: ${r.allow.value} is never blocked (expires in ${remaining(r.allow.expiresAt)})`);
    });

  withConfig(g.command('list'))
    .description('list allow entries')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/allow');
      if (o.json) return printJson(r.allow);
      console.log(table(['ID', 'VALUE', 'REASON', 'EXPIRES IN', 'CREATED'], r.allow.map((a) => [String(a.id), a.value, a.reason || '-', remaining(a.expiresAt), when(a.createdAt)])));
    });

  withConfig(g.command('delete <idOrValue>'))
    .description('remove an allow entry by id or value')
    .option('--json', 'print JSON')
    .action(async (key: string, o: GlobalOpts) => {
      const r = await client(o).send('DELETE /v1/allow/:key', { params: { key } });
      if (o.json) return printJson(r.deleted);
      console.log(`allow entry ${r.deleted.id} (${r.deleted.value}) deleted`);
    });
}
