import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { PortalSessionView } from '../../api/index.js';
import { client, withConfig, type GlobalOpts } from '../context.js';
import { printJson, remaining, table, when } from '../format.js';
import { readPassword, readStdin } from './password-input.js';

/*
 * `gatehouse users|vouchers|sessions`: the captive portal's accounts, vouchers and live sessions, over the
 * admin API (/v1/portal/*). Passwords come from stdin (a pipe, or typed without echo), never from argv,
 * where `ps` and the shell history would show them.
 */

export function bytes(n: number | undefined): string {
  if (n === undefined) return '-';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

function sessionRows(ss: readonly PortalSessionView[], now = Date.now()): string {
  return table(
    ['ID', 'USER', 'DEVICE', 'IPS', 'STARTED', 'TIME LEFT', 'DOWN', 'UP', 'DOWN LEFT', 'UP LEFT', 'STATE'],
    ss.map((s) => [
      s.id,
      s.user,
      s.device.mac,
      [...s.device.ipv4, ...s.device.ipv6].join(' '),
      when(s.startedAt),
      remaining(s.endsAt, now),
      bytes(s.bytesDown),
      bytes(s.bytesUp),
      bytes(s.downloadLeft),
      bytes(s.uploadLeft),
      s.state,
    ]),
  );
}

export function registerPortal(program: Command): void {
  const users = program.command('users').description('captive portal accounts (passwords stored as scrypt hashes)');
  withConfig(users.command('add <name>'))
    .description('create an account; the password is read from stdin (typed without echo on a terminal)')
    .action(async (name: string, o: GlobalOpts) => {
      const password = await readPassword(`password for ${name}: `);
      await client(o).send('POST /v1/portal/users', { body: { name, password } });
      console.log(`user '${name}' added`);
    });
  withConfig(users.command('passwd <name>'))
    .description('set a new password (from stdin)')
    .action(async (name: string, o: GlobalOpts) => {
      const password = await readPassword(`new password for ${name}: `);
      await client(o).send('PUT /v1/portal/users/:name/password', { params: { name }, body: { password } });
      console.log(`password of '${name}' changed`);
    });
  withConfig(users.command('list'))
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/portal/users');
      if (o.json) return printJson(r.users);
      console.log(table(['NAME', 'CREATED', 'CHANGED'], r.users.map((u) => [u.name, when(u.createdAt), when(u.updatedAt)])));
    });
  withConfig(users.command('delete <name>'))
    .description('delete an account and end its sessions')
    .action(async (name: string, o: GlobalOpts) => {
      const r = await client(o).send('DELETE /v1/portal/users/:name', { params: { name } });
      console.log(`user '${name}' deleted${r.sessionsEnded ? `, ${r.sessionsEnded} session(s) ended` : ''}`);
    });
  withConfig(users.command('import <file>'))
    .description('add or update accounts from a CSV file: name,password per line ("-" reads stdin)')
    .option('--json', 'print JSON')
    .action(async (file: string, o: GlobalOpts) => {
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      const r = await client(o).send('POST /v1/portal/users/import', { body: text });
      if (o.json) return printJson(r);
      console.log(`${r.added} added, ${r.updated} updated, ${r.skipped} skipped`);
      for (const p of r.problems) console.log(`  ${p}`);
      if (r.skipped > 0) process.exitCode = 1;
    });

  const vouchers = program.command('vouchers').description('captive portal vouchers (codes stored hashed: shown only when created)');
  withConfig(vouchers.command('create'))
    .description('create vouchers and print their codes, one a line')
    .requiredOption('--count <n>', 'how many', (v) => Number(v))
    .option('--time <duration>', 'time per voucher from its first use, e.g. 8h')
    .option('--traffic <size>', 'download per session, e.g. 5GB')
    .option('--upload <size>', 'upload per session, e.g. 1GB')
    .option('--uses <n>', 'devices per voucher', (v) => Number(v), 1)
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts & { count: number; time?: string; traffic?: string; upload?: string; uses: number }) => {
      const r = await client(o).send('POST /v1/portal/vouchers', {
        body: { count: o.count, uses: o.uses, ...(o.time ? { time: o.time } : {}), ...(o.traffic ? { traffic: o.traffic } : {}), ...(o.upload ? { upload: o.upload } : {}) },
      });
      if (o.json) return printJson(r.codes);
      for (const c of r.codes) console.log(c);
    });
  withConfig(vouchers.command('list'))
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/portal/vouchers');
      if (o.json) return printJson(r.vouchers);
      const dur = (ms: number | null) => (ms === null ? '-' : remaining(ms, 0));
      console.log(
        table(
          ['CODE', 'TIME', 'DOWNLOAD', 'UPLOAD', 'USED', 'FIRST USE', 'VALID UNTIL', 'CREATED'],
          r.vouchers.map((v) => [
            `${v.prefix}-…`,
            dur(v.timeMs),
            v.download === null ? '-' : bytes(v.download),
            v.upload === null ? '-' : bytes(v.upload),
            `${v.used}/${v.uses}`,
            when(v.firstUsedAt),
            v.firstUsedAt !== null && v.timeMs !== null ? when(v.firstUsedAt + v.timeMs) : '-',
            when(v.createdAt),
          ]),
        ),
      );
    });
  withConfig(vouchers.command('delete <code>'))
    .description('delete a voucher by its code or the 4 characters list shows; ends its sessions')
    .action(async (code: string, o: GlobalOpts) => {
      const r = await client(o).send('DELETE /v1/portal/vouchers/:code', { params: { code } });
      console.log(`${r.deleted} voucher(s) deleted${r.sessionsEnded ? `, ${r.sessionsEnded} session(s) ended` : ''}`);
    });

  const sessions = program.command('sessions').description('live captive portal sessions');
  withConfig(sessions.command('list'))
    .description('user, device, addresses, start, time left, bytes down/up and what is left')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/portal/sessions');
      if (o.json) return printJson(r.sessions);
      console.log(sessionRows(r.sessions));
    });
  withConfig(sessions.command('end [id]'))
    .description('end a session (by ID), all of a user\'s (--user) or a device\'s (--client IP or MAC)')
    .option('--user <name>', 'every session of this user')
    .option('--client <ip-or-mac>', 'the session of this device')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, o: GlobalOpts & { user?: string; client?: string }) => {
      const given = [id, o.user, o.client].filter((x) => x !== undefined);
      if (given.length !== 1) throw new Error('give a session ID, or --user NAME, or --client IP|MAC');
      const body = id !== undefined ? { id } : o.user !== undefined ? { user: o.user } : { client: o.client! };
      const r = await client(o).send('POST /v1/portal/sessions/end', { body });
      if (o.json) return printJson(r.ended);
      console.log(`${r.ended.length} session(s) ended: ${r.ended.map((s) => `${s.id} (${s.user}, ${s.device.mac})`).join(', ')}`);
    });
}
