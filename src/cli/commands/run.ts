import type { Command } from 'commander';
import { setFlagsFromString } from 'node:v8';
import { formatProblem } from '../../config/index.js';
import { checkConfig, loadConfig } from '../../daemon/index.js';
import { configFile, withConfig, type GlobalOpts } from '../context.js';
import { printJson } from '../format.js';

export function registerRun(program: Command): void {
  withConfig(program.command('run'))
    .description('run the gateway daemon in the foreground (as root)')
    .action(async (o: GlobalOpts) => {
      const file = configFile(o);
      if (!file) throw new Error('no config file: pass --config FILE (see examples/gatehouse.yaml)');
      // A gateway is a small box. By default V8 lets the heap grow to several times its live size before
      // a full collection: a million-line feed load peaked at 330–350 MB, mostly garbage. Collecting once
      // the heap has grown by half kept it at 250–265 MB; 15 % saved nothing more and slowed a 1M LAPI
      // startup stream by a quarter, 100 % let the peak back up to 290 MB (bench/feed-load.ts,
      // bench/lapi-stream.ts). V8 reads the flag at every collection, so setting it here is enough.
      setFlagsFromString('--heap-growing-percent=50');
      // Loaded here, not at the top: every other verb starts faster without fastify, SQLite and the daemon.
      const { startDaemon } = await import('../../daemon/index.js');
      const daemon = await startDaemon(loadConfig(file));
      const stop = async (sig: string) => {
        daemon.log.info({ signal: sig }, 'stopping; nftables rules stay in place and keep protecting the network');
        await daemon.stop();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });

  const cfg = program.command('config').description('configuration tools');
  cfg
    .command('check [file]')
    .description('check a config file; prints each problem as FILE:LINE:COL: key: message')
    .option('-c, --config <file>', 'config file (same as the argument)')
    .option('--json', 'print JSON')
    .action((file: string | undefined, o: GlobalOpts) => {
      const f = file ?? configFile(o);
      if (!f) throw new Error('give the config file to check');
      const problems = checkConfig(f);
      if (o.json) printJson(problems);
      else if (problems.length === 0) console.log(`${f}: OK`);
      else for (const p of problems) console.error(formatProblem(p));
      if (problems.length > 0) process.exitCode = 1;
    });
}
