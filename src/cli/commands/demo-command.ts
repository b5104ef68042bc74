import type { Command } from 'commander';

/** Only the registration: the demo module pulls in the whole lab, which other verbs should not pay for. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('build the lab, run Gatehouse in it, show a phishing click and an attack being blocked (as root)')
    .option('--once', 'print the report and tear down instead of staying up')
    .option('--prefix <prefix>', 'lab namespace prefix (default gh), so a test can run the demo beside one that is up')
    .option('--dir <dir>', 'folder for the config, log and data (default /run/gatehouse-demo)')
    .action(async (o: { once?: boolean; prefix?: string; dir?: string }) => (await import('./demo.js')).runDemo(o));
}
