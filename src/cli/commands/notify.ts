import type { Command } from 'commander';
import type { NotifyStatus } from '../../api/index.js';
import { client, withConfig, type GlobalOpts } from '../context.js';
import { printJson, table, when } from '../format.js';

export function formatNotifyStatus(s: NotifyStatus): string {
  const q = s.queue;
  const lines = [
    `notifications: ${s.channels.length} channel(s), ${s.rules} rule(s); queue: ${q.waiting} waiting (${q.failing} failing), ${q.givenUp} given up, ${q.sentToday} sent today; ${s.grouping} group(s) collecting`,
    s.digest ? `daily digest at ${s.digest.at}, next ${when(s.digest.nextAt)}` : 'no daily digest (notify.digest)',
    '',
    table(['CHANNEL', 'TYPE', 'LAST SENT', 'LAST ERROR'], s.channels.map((c) => [c.name, c.type, when(c.lastSentAt), c.lastError ?? '-'])),
  ];
  if (s.recent.length > 0) {
    lines.push(
      '',
      table(
        ['ID', 'CHANNEL', 'KIND', 'QUEUED', 'STATE', 'ATTEMPTS', 'SUBJECT / ERROR'],
        s.recent.map((r) => [
          String(r.id),
          r.channel,
          r.kind,
          when(r.createdAt),
          r.sentAt !== null ? `sent ${when(r.sentAt)}` : r.givenUpAt !== null ? 'GIVEN UP' : r.attempts > 0 ? `retry ${when(r.nextAt)}` : 'waiting',
          String(r.attempts),
          r.sentAt === null && r.lastError ? `${r.subject} — ERROR: ${r.lastError}` : r.subject,
        ]),
      ),
    );
  }
  return lines.join('\n');
}

/** `gatehouse notify status|test CHANNEL`. */
export function registerNotify(program: Command): void {
  const notify = program.command('notify').description('notifications: channels, delivery queue, test messages');

  withConfig(notify.command('status'))
    .description('channels, the delivery queue (waiting, failing, given up) and the latest messages')
    .option('--json', 'print JSON')
    .action(async (o: GlobalOpts) => {
      const r = await client(o).send('GET /v1/notify/status');
      if (o.json) return printJson(r);
      console.log(formatNotifyStatus(r));
    });

  withConfig(notify.command('test <channel>'))
    .description('send a test message to one channel now and say whether it went through')
    .option('--json', 'print JSON')
    .action(async (channel: string, o: GlobalOpts) => {
      const r = await client(o).send('POST /v1/notify/test', { body: { channel } });
      if (o.json) printJson(r);
      else console.log(r.ok ? `${channel}: test message delivered in ${r.ms} ms` : `${channel}: FAILED after ${r.ms} ms: ${r.error}`);
      if (!r.ok) process.exitCode = 1;
    });
}
