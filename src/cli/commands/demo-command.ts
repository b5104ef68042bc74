import type { Command } from 'commander';

/** Only the registration: the demo module pulls in the whole lab, which other verbs should not pay for. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('build the lab, run Gatehouse in it, show a phishing click and an attack being blocked (as root)')
    .option('--once', 'print the report and tear down instead of staying up')
    .action(async (o: { once?: boolean }) => (await import('./demo.js')).runDemo(o));
}
