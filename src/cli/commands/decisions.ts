import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Decision, Direction } from '../../api/index.js';
import { client, withConfig, type GlobalOpts } from '../context.js';
import { printJson, remaining, table, when } from '../format.js';
import { readStdin } from './password-input.js';

interface AddOpts extends GlobalOpts {
  duration?: string;
  reason?: string;
  direction?: string;
  scenario?: string;
  force?: boolean;
}

function decisionRows(ds: readonly Decision[]): string[][] {
  return ds.map((d) => [String(d.id), d.value, d.direction, d.origin, d.scenario || '-', d.reason || '-', remaining(d.expiresAt), when(d.createdAt)]);
}

export function formatDecisions(ds: readonly Decision[]): string {
  return table(['ID', 'VALUE', 'DIRECTION', 'ORIGIN', 'SCENARIO', 'REASON', 'EXPIRES IN', 'CREATED'], decisionRows(ds));
}

export function printDecisions(ds: readonly Decision[]): void {
  console.log(formatDecisions(ds));
}

export function registerDecisions(program: Command): void {
  const g = program.command('decisions').description('add, list, delete and import decisions (bans of IPs and ranges)');

  withConfig(g.command('add <value>'))
    .description('ban an IP or CIDR range')
    .option('-d, --duration <duration>', 'how long, e.g. 4h, 30m, 7d (default: until deleted)')
    .option('-r, --reason <text>', 'why (shown in block reports)')
    .option('--direction <dir>', 'inbound, outbound or both', 'both')
    .option('--scenario <name>', 'scenario name', 'manual')
    .option('--force', 'ban it even if it covers everything, the LAN, this gateway or private space')
    .option('--json', 'print JSON')
    .action(async (value: string, o: AddOpts) => {
      const r = await client(o).send('POST /v1/decisions', {
        body: {
          value,
          duration: o.duration,
          reason: o.reason,
          // The daemon checks it and names the values it takes.
          direction: o.direction as Direction | undefined,
          scenario: o.scenario,
          ...(o.force ? { force: true } : {}),
        },
      });
      if (o.json) return printJson(r);
      const d = r.decision;
      console.log(`decision ${d.id}: ${d.value} banned (${d.direction}), expires in ${remaining(d.expiresAt)}`);
      if (r.allowedBy.length > 0) console.log(`note: allowed by ${r.allowedBy.map((a) => a.value).join(', ')}; the allowlist wins, so it is not blocked`);
    });

  withConfig(g.command('list'))
    .description('list active decisions')
    .option('--origin <origin>', 'only this origin (manual, crowdsec, feed:NAME, …)')
    .option('--value <ip>', 'only decisions about this IP or range')
    .option('--limit <n>', 'at most this many', '1000')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts & { origin?: string; value?: string; limit: string }) => {
      const r = await client(o).send('GET /v1/decisions', { query: { limit: Number(o.limit), origin: o.origin, value: o.value } });
      if (o.json) return printJson(r.decisions);
      printDecisions(r.decisions);
    });

  withConfig(g.command('delete [id]'))
    .description('delete a decision by id, or every decision of a value/origin')
    .option('--value <ip>', 'every decision about exactly this IP or range')
    .option('--origin <origin>', 'every decision of this origin')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, o: GlobalOpts & { value?: string; origin?: string }) => {
      const c = client(o);
      let deleted: readonly Decision[];
      if (id !== undefined) {
        deleted = (await c.send('DELETE /v1/decisions/:id', { params: { id } })).deleted;
      } else {
        if (!o.value && !o.origin) throw new Error('give a decision id, --value or --origin');
        deleted = (await c.send('DELETE /v1/decisions', { query: { value: o.value, origin: o.origin } })).deleted;
      }
      if (o.json) return printJson(deleted);
      console.log(`${deleted.length} decision(s) deleted`);
    });

  withConfig(g.command('import <file>'))
    .description('ban every IP/CIDR in a file (one per line, # comments); bad lines are skipped and counted')
    .option('-d, --duration <duration>', 'how long (default: until deleted)')
    .option('-r, --reason <text>', 'reason for all (default: the line comment)')
    .option('--direction <dir>', 'inbound, outbound or both', 'both')
    .option('--origin <origin>', 'origin to record', 'manual')
    .option('--force', 'also ban lines that cover everything, the LAN, this gateway or private space (skipped otherwise)')
    .option('--json', 'print JSON')
    .action(async (file: string, o: AddOpts & { origin: string }) => {
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      const query = { direction: (o.direction ?? 'both') as Direction, origin: o.origin, duration: o.duration, reason: o.reason, force: o.force ? true : undefined };
      const started = Date.now();
      const r = await client(o).send('POST /v1/decisions/import', { query, body: text });
      if (o.json) return printJson({ ...r, ms: Date.now() - started });
      console.log(`${r.added} added, ${r.updated} updated, ${r.skipped} skipped — enforced in ${Date.now() - started} ms`);
      for (const s of r.skippedSamples) console.log(`  skipped line ${s.line}: ${JSON.stringify(s.text)} (${s.why})`);
      if (r.refused) console.log(`${r.refused} line(s) refused as too broad or covering the LAN, this gateway or private space; add --force to ban them anyway`);
    });
}
