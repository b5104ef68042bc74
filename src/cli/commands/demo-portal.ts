import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { httpGetFrom, run, type HttpResult, type Lab, type LabGateway } from '../../lab/index.js';

/*
 * The demo's captive-portal step (`npm start`): the admin turns the portal on for the LAN, with bob-phone
 * exempt; alice-laptop is sent to the login page, logs in with a demo account, browses, downloads a file
 * bigger than her small session allowance — the kernel stops it at the limit — and is back on the portal.
 */

export const DEMO_USER = 'demo';
export const DEMO_PASSWORD = 'demo-password';
/** Small on purpose: the download that hits it takes a second on the lab's LAN. */
export const DEMO_QUOTA = '20MB';
const BIG_FILE = 'big-download.bin';
const BIG_FILE_BYTES = 64 * 1000 * 1000;
const PORTAL_PORT = 8880;

const say = (s: string) => console.log(`\n== ${s}`);

/** The portal section the demo turns on. */
export function demoPortalConfig(lab: Lab): Record<string, unknown> {
  const t = lab.topology;
  return {
    listen: `${t.gateway.lanIpv4}:${PORTAL_PORT}`,
    auth: ['accounts'],
    exempt: [t.clients[1].mac],
    limits: { session_time: '8h', download: DEMO_QUOTA },
  };
}

function describe(r: HttpResult): string {
  if (r.outcome !== 'response') return `${r.outcome}${r.code ? ` (${r.code})` : ''} after ${Math.round(r.ms)} ms`;
  return `HTTP ${r.status}${r.headers?.location ? ` → ${r.headers.location}` : ''}`;
}

const fieldOf = (body: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(body)?.[1];
const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

/**
 * What a browser without JavaScript does on the login page: read the form, keep the cookie, post the
 * fields back. Returns the answer to the POST (a 303 to where the device was going, on success).
 */
export async function portalLogin(ns: string, loginUrl: string, username: string, password: string): Promise<HttpResult> {
  const page = await httpGetFrom(ns, loginUrl, 5000);
  if (page.outcome !== 'response' || page.status !== 200) throw new Error(`login page ${loginUrl}: ${describe(page)}`);
  const cookie = (page.headers?.['set-cookie'] ?? '').split(';')[0] ?? '';
  const body = page.body ?? '';
  const form = new URLSearchParams({ method: 'accounts', username, password });
  for (const f of ['csrf', 'to', 'sig']) {
    const v = fieldOf(body, f);
    if (v !== undefined) form.set(f, decode(v));
  }
  const post = new URL('/login', loginUrl).toString();
  return httpGetFrom(ns, post, 10_000, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
}

async function must(p: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(r.stderr.trim() || `command failed with ${r.code}`);
  return r.stdout.trim();
}

/** Runs the step on a demo gateway that is already up; restarts its daemon with the portal on. */
export async function runPortalDemo(lab: Lab, gw: LabGateway): Promise<void> {
  const t = lab.topology;
  const c1 = t.namespaces.c1;
  const c2 = t.namespaces.c2;
  const site = `http://${t.sites.legit.ipv4}/`;

  say(`the admin turns the captive portal on (portal: in the config), bob-phone exempt; a demo account "${DEMO_USER}" with ${DEMO_QUOTA} per session`);
  await gw.stopDaemon();
  await gw.writeConfig({ portal: demoPortalConfig(lab) });
  await gw.startDaemon();
  console.log(await must(gw.cli(['users', 'add', DEMO_USER], `${DEMO_PASSWORD}\n`)));
  await writeFile(join(lab.feedsDir, BIG_FILE), Buffer.alloc(BIG_FILE_BYTES, 0x61));

  say('alice-laptop opens a web page: the gateway sends her to the login page (her phone would pop up the login sheet)');
  const first = await httpGetFrom(c1, site, 5000);
  console.log(`alice-laptop → ${site} : ${describe(first)}`);
  const probe = await httpGetFrom(c1, `http://${t.sites.legit.ipv4}/generate_204`, 5000);
  console.log(`alice-laptop's Android probe → /generate_204 : ${describe(probe)} (not 204: "sign in to network")`);
  const https = await run('ip', ['netns', 'exec', c1, 'curl', '-sS', '-m', '5', '-o', '/dev/null', '-w', '%{time_total}', `https://${t.sites.legit.ipv4}/`]).then(
    (r) => `connected?! ${r.stdout}`,
    (e: Error) => `refused at once (${e.message.split('\n').find((l) => l.includes('curl:'))?.trim() ?? 'curl failed'})`,
  );
  console.log(`alice-laptop → https://${t.sites.legit.ipv4}/ : ${https}`);
  const bob = await httpGetFrom(c2, site, 5000);
  console.log(`bob-phone (exempt) → ${site} : ${describe(bob)}`);

  const loginUrl = first.headers?.location;
  if (first.outcome !== 'response' || first.status !== 302 || !loginUrl) throw new Error(`expected a redirect to the portal, got ${describe(first)}`);
  say(`alice-laptop logs in as "${DEMO_USER}" on ${loginUrl.split('?')[0]}`);
  const login = await portalLogin(c1, loginUrl, DEMO_USER, DEMO_PASSWORD);
  console.log(`POST /login : ${describe(login)}`);
  const browse = await httpGetFrom(c1, site, 5000);
  console.log(`alice-laptop → ${site} : ${describe(browse)}${browse.body?.includes('Example Books') ? ' (Example Books, the shop)' : ''}`);
  const api = await httpGetFrom(c1, `http://${t.gateway.lanIpv4}:${PORTAL_PORT}/api/captive`, 5000);
  console.log(`alice-laptop → RFC 8908 /api/captive : ${api.body?.trim()}`);
  console.log(await must(gw.cli(['sessions', 'list'])));

  say(`alice-laptop downloads a ${BIG_FILE_BYTES / 1e6} MB file: the kernel stops it at her ${DEMO_QUOTA} allowance`);
  const url = `http://${t.sites.legit.ipv4}/feeds/${BIG_FILE}`;
  // curl gives up once nothing has arrived for 3 s: past the allowance the kernel lets no byte through.
  const dl = await run('ip', ['netns', 'exec', c1, 'curl', '-s', '-m', '30', '-y', '3', '-Y', '1', '-o', '/dev/null', '-w', '%{size_download}', url]).then(
    (r) => ({ done: true, out: r.stdout }),
    (e: Error & { stdout?: string }) => ({ done: false, out: e.stdout ?? '' }),
  );
  const mb = Number(dl.out.trim()) / 1e6;
  console.log(`curl ${url} : ${mb.toFixed(1)} MB of ${BIG_FILE_BYTES / 1e6} MB${dl.done ? ' (complete?!)' : ', then nothing more: the transfer stalled at the limit'}`);

  say('the session ends at the limit; her next page view lands on the portal again');
  let again: HttpResult | undefined;
  for (let i = 0; i < 40; i++) {
    again = await httpGetFrom(c1, site, 3000);
    if (again.outcome === 'response' && again.status === 302) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`alice-laptop → ${site} : ${again ? describe(again) : 'no answer'}`);
  const back = again?.headers?.location ? await httpGetFrom(c1, again.headers.location, 5000) : undefined;
  const why = /id="ended">([^<]*)</.exec(back?.body ?? '')?.[1];
  if (why) console.log(`the login page tells her: "${decode(why)}"`);
  console.log(await must(gw.cli(['sessions', 'list'])));
}
