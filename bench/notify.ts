/**
 * Issue #13 bench: block → channel hand-off (goal < 5 s).
 *
 * In-process (no root): the notify module on a real store and the real bus, a webhook receiver and an SMTP
 * server each as its own process on loopback; N `firewall.blocked` events (each a new client/remote pair),
 * one every --gap ms; time from publish to the receiver holding the message (rule group 0s).
 * --lab (root + build): the whole path in a lab (prefix nt2): a LAN client's connection to a banned
 * address → the collector (1 s poll) → notify → the mail on a real SMTP server in the gateway namespace.
 *
 *   node --import tsx bench/notify.ts [--count 50] [--gap 100] [--lab] [--lab-count 5]
 * Results → bench/results/notify-latest.md
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BlockHit } from '../src/store/index.js';
import { NotifyHarness } from '../test/e2e/helpers/notify-harness.js';
import { Sink } from '../test/e2e/helpers/notify-sink.js';
import { median, percentile, textTable } from './lib/stats.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '50' }, gap: { type: 'string', default: '100' }, lab: { type: 'boolean', default: false }, 'lab-count': { type: 'string', default: '5' } } });
const COUNT = Number(values.count);
const GAP = Number(values.gap);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (xs: number[]) => (xs.length ? [`${median(xs).toFixed(0)} ms`, `${percentile(xs, 95).toFixed(0)} ms`, `${Math.max(...xs).toFixed(0)} ms`] : ['-', '-', '-']);

function hit(i: number): BlockHit {
  return {
    direction: 'outbound',
    clientIp: `10.1.${i >> 8}.${i & 255}`,
    clientMac: null,
    clientName: `client-${i}`,
    remoteIp: '203.0.113.66',
    protocol: 'tcp',
    port: 443,
    mode: 'blocked',
    seenAt: Date.now(),
    packets: 1,
    bytes: 60,
    decisions: [{ id: 1, origin: 'feed:phishing_db', scenario: '', reason: 'phishing' }],
    domain: 'amazon-signin.example',
  };
}

async function inProcess(): Promise<{ hook: number[]; mail: number[] }> {
  const hook = await Sink.start(['http', '0']);
  const smtp = await Sink.start(['smtp', '0', 'bench', 'pw']);
  const h = await NotifyHarness.open({});
  const pass = join(h.dir, 'pass');
  await writeFile(pass, 'pw');
  h.raw.notify = {
    channels: {
      hook: { type: 'webhook', url: `http://127.0.0.1:${hook.port}/`, template: 'json' },
      mail: { type: 'email', host: '127.0.0.1', port: smtp.port, starttls: false, user: 'bench', password_file: pass, from: 'gw@bench.example', to: 'admin@bench.example' },
    },
    rules: [{ kind: 'outbound_block_new', group: '0s', cooldown: '1m' }],
  };
  await h.start();
  const sentAt = new Map<string, number>();
  try {
    for (let i = 0; i < COUNT; i++) {
      const b = hit(i);
      sentAt.set(b.clientIp, Date.now());
      h.bus.publish('firewall.blocked', [b]);
      await sleep(GAP);
    }
    await hook.until(() => hook.received.length >= COUNT, 60_000, 'every webhook message');
    await smtp.until(() => smtp.received.length >= COUNT, 120_000, 'every mail');
    const lat = (s: Sink) =>
      s.received.flatMap((r) => {
        const ip = /10\.1\.\d+\.\d+/.exec(r.body ?? '')?.[0];
        const t0 = ip ? sentAt.get(ip) : undefined;
        return t0 === undefined ? [] : [r.at - t0];
      });
    return { hook: lat(hook), mail: lat(smtp) };
  } finally {
    await h.close();
    await hook.stop();
    await smtp.stop();
  }
}

async function lab(n: number): Promise<number[]> {
  const { GatewayLab } = await import('../test/e2e/helpers/gateway.js');
  const { connectFrom } = await import('../src/lab/probe.js');
  const g = await GatewayLab.start('nt2');
  const smtp = await Sink.start(['smtp', '2525', 'bench', 'pw'], g.topo.namespaces.gw);
  try {
    const pass = join(g.dir, 'pass');
    await writeFile(pass, 'pw');
    await g.writeConfig({
      notify: {
        channels: { mail: { type: 'email', host: '127.0.0.1', port: 2525, starttls: false, user: 'bench', password_file: pass, from: 'gw@lab.example', to: 'admin@lab.example' } },
        rules: [{ kind: 'outbound_block_new', group: '0s', cooldown: '1s' }],
      },
    });
    await g.startDaemon();
    const out: number[] = [];
    // Distinct remotes in TEST-NET-3, each banned, each a first hit.
    for (let i = 0; i < n; i++) {
      const ip = `203.0.113.${100 + i}`;
      if ((await g.cli(['decisions', 'add', ip, '--reason', 'bench', '--duration', '1h'])).code !== 0) throw new Error('decisions add failed');
      const t0 = Date.now();
      await connectFrom(g.topo.namespaces.c1, { host: ip, port: 80, timeoutMs: 2000, bannerWaitMs: 0 });
      await smtp.until(() => smtp.received.some((m) => m.body!.includes(ip)), 60_000, `the mail about ${ip}`);
      out.push(smtp.received.find((m) => m.body!.includes(ip))!.at - t0);
    }
    return out;
  } finally {
    await smtp.stop().catch(() => undefined);
    await g.close();
  }
}

const r = await inProcess();
const rows = [
  ['webhook (json)', String(r.hook.length), ...fmt(r.hook)],
  ['email (SMTP, auth)', String(r.mail.length), ...fmt(r.mail)],
];
let labRows: string[][] = [];
if (values.lab) {
  const l = await lab(Number(values['lab-count']));
  labRows = [['lab: client connect → mail', String(l.length), ...fmt(l)]];
}
const table = textTable(['PATH', 'N', 'MEDIAN', 'P95', 'MAX'], [...rows, ...labRows]);
const text = [
  `# notify bench (${new Date().toISOString()})`,
  '',
  `Block → channel hand-off, goal < 5 s. In-process: ${COUNT} new client/remote pairs, one every ${GAP} ms, rule group 0s;`,
  `publish on the bus → the receiver process has the message. ${values.lab ? 'Lab: the whole path with the collector polling every 1 s.' : ''}`,
  '',
  '```',
  `node --import tsx bench/notify.ts --count ${COUNT} --gap ${GAP}${values.lab ? ` --lab --lab-count ${values['lab-count']}` : ''}`,
  '',
  table,
  '```',
  '',
  'With the default rule window (group: 30s) a message waits for its window by design; the hand-off after the window is the figure above.',
].join('\n');
console.log(text);
await writeFile(join(import.meta.dirname, 'results', 'notify-latest.md'), text + '\n');
