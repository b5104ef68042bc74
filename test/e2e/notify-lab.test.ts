/*
 * Issue #13, notifications and metrics through the real daemon in a lab (prefix nt): a LAN client's
 * outbound block reaches a real SMTP server (smtp-server, its own process on the gateway's loopback) and a
 * real HTTP webhook receiver; the webhook groups per cooldown; with the SMTP server stopped the mail waits
 * in the queue and is delivered once it is back; /metrics passes `promtool check metrics` and its counters
 * move with the blocks, with DNS queries (the answer-time histogram) and with LAPI requests (bouncer pulls).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectFrom } from '../../src/lab/probe.js';
import { nsExec } from '../../src/lab/ns.js';
import { labDnsConfig } from '../../src/lab/gateway-runner.js';
import { labNames } from '../../src/lab/zone.js';
import { digIn, show } from './helpers/dig.js';
import { GatewayLab, skipReason } from './helpers/gateway.js';
import { Sink, type SinkLine } from './helpers/notify-sink.js';

const SMTP_PORT = 2525;
const HOOK_PORT = 8099;
const METRICS = '127.0.0.1:9464';
const METRICS_TOKEN = 'metrics-secret';
const HOOK_COOLDOWN_MS = 8_000;
const LAPI = '127.0.0.1:8081';

interface HookBody {
  kind: string;
  count: number;
  subject: string;
  items: { text: string; data: { remote: string; client: string; clientName: string | null; why: { origin: string; reason: string }[] } }[];
}

const hookBodies = (s: Sink): (HookBody & { at: number })[] =>
  s.received.map((l: SinkLine) => ({ ...(JSON.parse(l.body!) as HookBody), at: l.at })).filter((b) => b.kind === 'outbound_block_new');

/** `promtool check metrics` on the text: Prometheus's own parser and linter. */
function promtool(text: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    p.on('close', (code) => done({ code: code ?? 1, out }));
    p.stdin.end(text);
  });
}

/** The value of one sample line, e.g. gatehouse_blocks_total{direction="outbound",mode="blocked"}. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return NaN;
}

describe('notifications and metrics in the lab', { skip: skipReason, timeout: 300_000 }, () => {
  let g: GatewayLab;
  let smtp: Sink;
  let hook: Sink;
  let gw: string;
  let c1: string;

  const scrape = async (token = METRICS_TOKEN): Promise<{ code: string; text: string }> => {
    const r = await nsExec(gw, 'curl', ['-s', '-o', '-', '-w', '\n%{http_code}', '-H', `Authorization: Bearer ${token}`, `http://${METRICS}/metrics`]);
    const i = r.stdout.lastIndexOf('\n');
    return { text: r.stdout.slice(0, i), code: r.stdout.slice(i + 1) };
  };

  before(async () => {
    g = await GatewayLab.start('nt');
    gw = g.topo.namespaces.gw;
    c1 = g.topo.namespaces.c1;
    const pass = join(g.dir, 'smtp.pass');
    await writeFile(pass, 'mail-secret\n', { mode: 0o600 });
    const ads = join(g.dir, 'ads.txt');
    await writeFile(ads, `${labNames(g.topo).adDomain}\n`);
    smtp = await Sink.start(['smtp', String(SMTP_PORT), 'gatehouse', 'mail-secret'], gw);
    hook = await Sink.start(['http', String(HOOK_PORT)], gw);
    await g.writeConfig({
      notify: {
        channels: {
          mail: { type: 'email', host: '127.0.0.1', port: SMTP_PORT, starttls: false, user: 'gatehouse', password_file: pass, from: 'gatehouse@lab.example', to: 'admin@lab.example' },
          hook: { type: 'webhook', url: `http://127.0.0.1:${HOOK_PORT}/gatehouse`, template: 'json' },
        },
        rules: [
          { kind: 'outbound_block_new', channels: ['mail'], group: '1s', cooldown: '1s' },
          { kind: 'outbound_block_new', channels: ['hook'], group: '3s', cooldown: `${HOOK_COOLDOWN_MS / 1000}s` },
          { kind: 'daemon_restarted', channels: ['hook'], group: '0s' },
        ],
        retry: { max_interval: '2s' },
      },
      metrics: { listen: METRICS, token_sha256: createHash('sha256').update(METRICS_TOKEN).digest('hex') },
      dns: { ...labDnsConfig(g.topo), workers: 1, blocklists: [{ name: 'ads', type: 'file', path: ads, format: 'domains' }] },
      lapi: { listen: LAPI },
    });
    await g.startDaemon(40_000);
  });
  after(async () => {
    await smtp?.stop().catch(() => undefined);
    await hook?.stop().catch(() => undefined);
    if (g) await g.close();
  });

  test('a new outbound block: mail within 60 s, the webhook groups per cooldown, /metrics counts it', async () => {
    const { phishing, ads, legit } = g.topo.sites;
    const unauth = await scrape('wrong');
    assert.equal(unauth.code, '401', 'a scrape without the token is refused');
    const before = await scrape();
    assert.equal(before.code, '200');
    const lint0 = await promtool(before.text);
    assert.equal(lint0.code, 0, `promtool check metrics: ${lint0.out}`);
    const blocks0 = sample(before.text, 'gatehouse_blocks_total', { direction: 'outbound', mode: 'blocked' });
    assert.equal(blocks0, 0, 'no block counted before the test causes one');

    for (const [ip, why] of [[phishing.ipv4, 'fake amazon login page'], [ads.ipv4, 'tracker'], [legit.ipv4, 'compromised shop']] as const) {
      const r = await g.cli(['decisions', 'add', ip, '--reason', why, '--duration', '1h']);
      assert.equal(r.code, 0, r.stderr);
    }
    const t0 = Date.now();
    for (const ip of [phishing.ipv4, ads.ipv4]) {
      const r = await connectFrom(c1, { host: ip, port: 80, timeoutMs: 3000, bannerWaitMs: 0 });
      assert.notEqual(r.outcome, 'connected', `${ip} is blocked`);
    }

    await smtp.until(() => smtp.received.some((m) => m.body!.includes(phishing.ipv4)), 60_000, 'the mail about the phishing block');
    const mail = smtp.received.find((m) => m.body!.includes(phishing.ipv4))!;
    assert.ok(mail.at - t0 < 60_000, `mail after ${mail.at - t0} ms`);
    assert.match(mail.subject!, /outbound block/i);
    assert.match(mail.body!, /alice-laptop/, 'names the client');
    assert.match(mail.body!, /fake amazon login page/, 'says why');
    assert.equal(mail.user, 'gatehouse', 'sent with SMTP auth');
    assert.deepEqual(mail.to, ['admin@lab.example']);

    // Both remotes within the group window: one webhook message with both.
    await hook.until(() => hookBodies(hook).length >= 1, 30_000, 'the first webhook message');
    const first = hookBodies(hook)[0]!;
    assert.equal(first.count, 2, `grouped: ${JSON.stringify(first)}`);
    assert.deepEqual(first.items.map((i) => i.data.remote).sort(), [ads.ipv4, phishing.ipv4].sort());
    assert.equal(first.items[0]!.data.clientName, 'alice-laptop');
    assert.equal(first.items.find((i) => i.data.remote === phishing.ipv4)!.data.why[0]!.reason, 'fake amazon login page');

    // A third remote during the cooldown waits for it, then comes alone; a repeat of a known pair says nothing.
    await connectFrom(c1, { host: legit.ipv4, port: 80, timeoutMs: 3000, bannerWaitMs: 0 });
    await connectFrom(c1, { host: phishing.ipv4, port: 80, timeoutMs: 3000, bannerWaitMs: 0 });
    await hook.until(() => hookBodies(hook).length >= 2, 30_000, 'the second webhook message');
    const second = hookBodies(hook)[1]!;
    assert.deepEqual(second.items.map((i) => i.data.remote), [legit.ipv4], 'only the new remote');
    assert.ok(second.at - first.at >= HOOK_COOLDOWN_MS - 500, `second message ${second.at - first.at} ms after the first: cooldown ${HOOK_COOLDOWN_MS} ms`);

    const restarted = hook.received.map((l) => JSON.parse(l.body!) as HookBody).filter((b) => b.kind === 'daemon_restarted');
    assert.equal(restarted.length, 1, 'the daemon start was announced once');

    const after = await scrape();
    const lint = await promtool(after.text);
    assert.equal(lint.code, 0, `promtool check metrics: ${lint.out}`);
    const blocks1 = sample(after.text, 'gatehouse_blocks_total', { direction: 'outbound', mode: 'blocked' });
    assert.ok(blocks1 >= 4, `outbound blocks counted: ${blocks1}`);
    assert.ok(sample(after.text, 'gatehouse_decisions', { origin: 'manual', direction: 'both' }) >= 3, 'decisions by origin and direction');
    assert.ok(sample(after.text, 'gatehouse_notify_sent_total', { channel: 'hook', kind: 'outbound_block_new' }) >= 2, 'hand-offs counted');
    assert.ok(sample(after.text, 'gatehouse_enforcer_transactions_total') >= 1);
    assert.ok(sample(after.text, 'gatehouse_kernel_set_elements', { set: 'both_ip4' }) >= 3, 'the kernel set holds the three bans');
    assert.ok(sample(after.text, 'gatehouse_enforcer_latency_seconds_count') >= 1, 'enforcer latency observed');
  });

  test('with the SMTP server stopped the mail waits in the queue and is delivered once it is back', async () => {
    const phish6 = g.topo.sites.phishing.ipv6;
    assert.equal((await g.cli(['decisions', 'add', phish6, '--reason', 'phishing over v6', '--duration', '1h'])).code, 0);
    await smtp.stop();
    const r = await connectFrom(c1, { host: phish6, port: 80, timeoutMs: 3000, bannerWaitMs: 0 });
    assert.notEqual(r.outcome, 'connected');

    // The failure shows in `notify status`.
    const deadline = Date.now() + 30_000;
    let st: { queue: { waiting: number; failing: number }; recent: { channel: string; lastError: string | null; sentAt: number | null }[] };
    for (;;) {
      st = await g.cliJson(['notify', 'status']);
      if (st.queue.failing >= 1) break;
      if (Date.now() > deadline) throw new Error(`no failing delivery shown: ${JSON.stringify(st)}`);
      await new Promise((res) => setTimeout(res, 500));
    }
    const failing = st.recent.find((m) => m.channel === 'mail' && m.sentAt === null)!;
    assert.match(failing.lastError ?? '', /ECONNREFUSED|connect/i);
    const text = await g.cli(['notify', 'status']);
    assert.match(text.stdout, /failing/);

    smtp = await Sink.start(['smtp', String(SMTP_PORT), 'gatehouse', 'mail-secret'], gw);
    await smtp.until(() => smtp.received.some((m) => m.body!.includes(phish6)), 30_000, 'the held mail');
    const after: { queue: { waiting: number } } = await g.cliJson(['notify', 'status']);
    assert.equal(after.queue.waiting, 0, 'nothing left in the queue');
    // The earlier pairs never mailed twice.
    assert.ok(!smtp.received.some((m) => m.body!.includes(g.topo.sites.phishing.ipv4 + ':')), 'a repeated pair sends no new mail');
  });

  test('notify test CHANNEL reports success and failure', async () => {
    const ok = await g.cli(['notify', 'test', 'hook']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /delivered/);
    await smtp.stop();
    const bad = await g.cli(['notify', 'test', 'mail']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /FAILED/);
    const unknown = await g.cli(['notify', 'test', 'nope']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no notify channel named nope/);
  });

  test('/metrics: DNS answer times by result and LAPI requests by route move with the queries and pulls the test makes', async () => {
    const n = labNames(g.topo);
    const gw4 = g.topo.gateway.lanIpv4;
    const dnsCount = (t: string, result: string) => sample(t, 'gatehouse_dns_query_duration_seconds_count', { result });
    const lapi = (t: string, labels: Record<string, string>) => sample(t, 'gatehouse_lapi_requests_total', labels) || 0;
    const pulls = { route: '/v1/decisions/stream', method: 'GET', code: '200' };
    const before = await scrape();
    assert.equal(before.code, '200');
    for (const r of ['blocked', 'cached', 'forwarded', 'local', 'servfail']) assert.ok(dnsCount(before.text, r) >= 0, `a series for ${r} before any query of it`);

    // Three blocked names, one forwarded to the lab's authoritative server and then answered from the cache
    // (a TXT name: the sites' addresses are banned by the tests above, and the answer check would block them).
    for (const name of [n.adName, `a.${n.adDomain}`, `b.${n.adDomain}`]) {
      const r = await digIn(c1, gw4, name);
      assert.equal(r.status, 'NXDOMAIN', `${name} is blocked: ${show(r)}`);
    }
    for (let i = 0; i < 2; i++) {
      const r = await digIn(c1, gw4, n.midTxt, 'TXT');
      assert.equal(r.status, 'NOERROR', show(r));
    }
    const add = await g.cli(['bouncers', 'add', 'mt-bouncer']);
    assert.equal(add.code, 0, add.stderr);
    const key = add.stdout.trim().split('\n').at(-1)!;
    for (const startup of ['true', 'false']) {
      const r = await nsExec(gw, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `X-Api-Key: ${key}`, `http://${LAPI}/v1/decisions/stream?startup=${startup}`]);
      assert.equal(r.stdout, '200', 'a bouncer pull');
    }
    const probe = await nsExec(gw, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${LAPI}/v1/no-such-route-${Date.now()}`]);
    assert.equal(probe.stdout, '404');

    // Workers report each second: the figures arrive within a few.
    let after = before;
    const deadline = Date.now() + 10_000;
    while (dnsCount(after.text, 'blocked') - dnsCount(before.text, 'blocked') < 3 || dnsCount(after.text, 'cached') - dnsCount(before.text, 'cached') < 1) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 300));
      after = await scrape();
    }
    const lint = await promtool(after.text);
    assert.equal(lint.code, 0, `promtool check metrics: ${lint.out}`);
    const moved = (r: string) => dnsCount(after.text, r) - dnsCount(before.text, r);
    assert.ok(moved('blocked') >= 3, `blocked answers timed: ${moved('blocked')}`);
    assert.ok(moved('forwarded') >= 1, `forwarded answers timed: ${moved('forwarded')}`);
    assert.ok(moved('cached') >= 1, `cached answers timed: ${moved('cached')}`);
    const inf = sample(after.text, 'gatehouse_dns_query_duration_seconds_bucket', { result: 'blocked', le: '+Inf' });
    assert.equal(inf, dnsCount(after.text, 'blocked'), 'the +Inf bucket holds every blocked answer');
    const fast = sample(after.text, 'gatehouse_dns_query_duration_seconds_bucket', { result: 'forwarded', le: '2' });
    assert.ok(fast >= 1, 'the forwarded answer took under the 2 s bucket');
    assert.ok(lapi(after.text, pulls) - lapi(before.text, pulls) >= 2, `bouncer pulls counted:\n${after.text.split('\n').filter((l) => l.startsWith('gatehouse_lapi_requests_total')).join('\n')}`);
    assert.ok(lapi(after.text, { route: 'other', code: '404' }) >= 1, 'an unknown path counts under route="other"');
    assert.ok(!after.text.includes('no-such-route'), 'never the raw URL');
  });
});
