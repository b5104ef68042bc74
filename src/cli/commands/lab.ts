import type { Command } from 'commander';
import { printJson } from '../format.js';

const DEFAULT_PREFIX = 'gh';
const lab = () => import('../../lab/index.js');

export function registerLab(program: Command): void {
  const g = program.command('lab').description('isolated network-namespace lab: LAN clients, a gateway and a simulated internet');
  g.command('up')
    .description('build the lab (safe to run twice)')
    .option('--prefix <p>', 'namespace name prefix', DEFAULT_PREFIX)
    .option('--clients <n>', 'LAN clients c1..cN (default 2)')
    .option('--bottleneck <down/up>', 'an ISP link in the simulated internet, e.g. 50mbit/10mbit')
    .option('--iperf <n>', 'iperf3 servers in the simulated internet (ports 5201..)')
    .option('--json', 'print JSON')
    .action(async (o: { prefix: string; json?: boolean; clients?: string; bottleneck?: string; iperf?: string }) => {
      const { labUp, labStatus } = await lab();
      const whole = (v: string, what: string): number => {
        if (!/^\d{1,3}$/.test(v)) throw new Error(`--${what}: a whole number, got ${JSON.stringify(v)}`);
        return Number(v);
      };
      const link = o.bottleneck?.split('/');
      if (link && (link.length !== 2 || !link[0] || !link[1])) throw new Error(`--bottleneck: DOWN/UP such as 50mbit/10mbit, got ${JSON.stringify(o.bottleneck)}`);
      const up = await labUp({
        prefix: o.prefix,
        ...(o.clients !== undefined ? { clients: whole(o.clients, 'clients') } : {}),
        ...(link ? { bottleneck: { down: link[0]!, up: link[1]! } } : {}),
        ...(o.iperf !== undefined ? { iperf: whole(o.iperf, 'iperf') } : {}),
      });
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
