import type { Command } from 'commander';
import { loadConfig, openAdminAccounts } from '../../daemon/index.js';
import { configFile, withConfig, type GlobalOpts } from '../context.js';
import { printJson, table, when } from '../format.js';
import { readPassword } from './password-input.js';

async function withAccounts<T>(o: GlobalOpts, f: (a: Awaited<ReturnType<typeof openAdminAccounts>>['accounts']) => Promise<T>): Promise<T> {
  const file = configFile(o);
  const dataDir = file ? loadConfig(file).data_dir : '/var/lib/gatehouse';
  const { accounts, close } = await openAdminAccounts(dataDir);
  try {
    return await f(accounts);
  } finally {
    close();
  }
}

export function registerAdmins(program: Command): void {
  const g = program.command('admins').description('dashboard admin accounts (web.listen): passwords are stored as scrypt hashes');

  withConfig(g.command('add <name>'))
    .description('add an admin; the password is typed without echo, or the first line of a pipe (printf %s "$PASSWORD" | gatehouse admins add NAME)')
    .action(async (name: string, o: GlobalOpts) => {
      const password = await readPassword(`password for ${name}: `);
      await withAccounts(o, (a) => a.add(name, password));
      console.log(`admin ${name} added`);
    });

  withConfig(g.command('passwd <name>'))
    .description("change an admin's password (typed without echo, or the first line of a pipe); ends that admin's logins")
    .action(async (name: string, o: GlobalOpts) => {
      const password = await readPassword(`new password for ${name}: `);
      await withAccounts(o, (a) => a.passwd(name, password));
      console.log(`password of ${name} changed; their sessions are ended`);
    });

  withConfig(g.command('delete <name>'))
    .description('delete an admin and end their logins')
    .action(async (name: string, o: GlobalOpts) => {
      await withAccounts(o, async (a) => a.delete(name));
      console.log(`admin ${name} deleted`);
    });

  withConfig(g.command('list'))
    .description('list admins')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const list = await withAccounts(o, async (a) => a.list());
      if (o.json) return printJson(list);
      console.log(table(['NAME', 'SESSIONS', 'PASSWORD SET', 'CREATED'], list.map((a) => [a.name, String(a.sessions), when(a.updatedAt), when(a.createdAt)])));
    });
}
