import type { Command } from 'commander';
import { printJson } from '../format.js';

const DEFAULT_PREFIX = 'gh';
const lab = () => import('../../lab/index.js');

export function registerLab(program: Command): void {
  const g = program.command('lab').description('isolated network-namespace lab: LAN clients, a gateway and a simulated internet');
  g.command('up')
    .description('build the lab (safe to run twice)')
    .option('--prefix <p>', 'namespace name prefix', DEFAULT_PREFIX)
    .option('--json', 'print JSON')
    .action(async (o: { prefix: string; json?: boolean }) => {
      const { labUp, labStatus } = await lab();
      const up = await labUp({ prefix: o.prefix });
      if (o.json) return printJson(up);
      console.log(`lab ${o.prefix} is up`);
      printJson(await labStatus(o.prefix));
    });
  g.command('down')
    .description('remove every namespace and process of the lab')
    .option('--prefix <p>', 'namespace name prefix', DEFAULT_PREFIX)
    .action(async (o: { prefix: string }) => {
      await (await lab()).labDown(o.prefix);
      console.log(`lab ${o.prefix} is down`);
    });
  g.command('status')
    .description('which namespaces and servers of the lab exist')
    .option('--prefix <p>', 'namespace name prefix', DEFAULT_PREFIX)
    .action(async (o: { prefix: string }) => {
      printJson(await (await lab()).labStatus(o.prefix));
    });
}
