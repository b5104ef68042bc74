import { Command, CommanderError } from 'commander';
import { registerDecisions } from './commands/decisions.js';
import { registerAllow } from './commands/allow.js';
import { registerBlocks } from './commands/blocks.js';
import { registerRun } from './commands/run.js';
import { registerLab } from './commands/lab.js';
import { registerDemo } from './commands/demo-command.js';
import { registerPeers } from './commands/peers.js';
import { dnsCommand, registerDnsQueryLog } from './commands/dns-querylog.js';
import { registerDns } from './commands/dns.js';
import { registerPortal } from './commands/portal.js';
import { registerPortalInfo } from './commands/portal-info.js';
import { registerShaper } from './commands/shaper.js';
import { registerAdmins } from './commands/admins.js';
import { registerNotify } from './commands/notify.js';
import { VERSION } from '../version.js';

const program = new Command('gatehouse')
  .description('Gatehouse: reputation firewall in both directions, with block reports, for a small shared network')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride();

registerRun(program);
registerDecisions(program);
registerAllow(program);
registerBlocks(program);
registerLab(program);
registerPeers(program);
registerDemo(program);
registerDnsQueryLog(dnsCommand(program));
registerDns(program);
registerPortal(program);
registerPortalInfo(program);
registerShaper(program);
registerAdmins(program);
registerNotify(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  // One clear line, no stack: the admin reads this on a phone over SSH.
  console.error(`gatehouse: ${(e as Error).message}`);
  process.exit(1);
}
