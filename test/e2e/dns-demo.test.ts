/**
 * `npm start` runs `gatehouse demo`; this runs it once (`--once`, its own prefix and folder) and checks the
 * DNS story a newcomer reads: the lookup before the listing, the click blocked with the domain in the
 * report, the resolver refusing the name afterwards, ads blocked by a list, the opted-out phone getting
 * the ad but not the phishing site, and the hard-coded resolver redirected. Then the captive portal: the
 * resident redirected, logged in, browsing, stopped at a small download allowance, back on the portal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_PATH } from '../../src/lab/gateway-runner.js';
import { labDown } from '../../src/lab/lab.js';
import { listNetns } from '../../src/lab/ns.js';
import { skipReason } from './helpers/gateway.js';

const PREFIX = 'l7d';

test('the demo (npm start) tells the DNS story and cleans up after itself', { skip: skipReason, timeout: 300_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-demo-'));
  try {
    const out = await new Promise<string>((done, fail) => {
      execFile(process.execPath, [CLI_PATH, 'demo', '--once', '--prefix', PREFIX, '--dir', dir], { timeout: 280_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
        err ? fail(new Error(`demo failed: ${err.message}\n${stdout}\n${stderr}`)) : done(stdout));
    });
    const line = (re: RegExp) => assert.match(out, re, `the demo's output should show ${re}:\n${out}`);
    line(/alice-laptop: dig amazon-signin\.example → 203\.0\.113\.66/);
    line(/alice-laptop → 203\.0\.113\.66:80 : refused/);
    line(/203\.0\.113\.66 \(amazon-signin\.example\)/);
    line(/alice-laptop: dig amazon-signin\.example → NXDOMAIN — 17 \(Filtered\): .*203\.0\.113\.66.*demo_phishing/);
    line(/alice-laptop: dig pixel\.adnet\.example → NXDOMAIN — 15 \(Blocked\): .*demo_ads/);
    line(/alice-laptop: dig metrics\.shop\.example → NXDOMAIN — 15 \(Blocked\): \(CNAME pixel\.adnet\.example/);
    line(/bob-phone: dig pixel\.adnet\.example → 198\.51\.100\.20/);
    line(/bob-phone: curl http:\/\/pixel\.adnet\.example\/ → HTTP 200/);
    line(/bob-phone: dig amazon-signin\.example → NXDOMAIN/);
    line(/alice-laptop: dig @203\.0\.113\.53 pixel\.adnet\.example → NXDOMAIN — 15 \(Blocked\)/);
    // The captive portal step (src/cli/commands/demo-portal.ts).
    line(/alice-laptop → http:\/\/198\.51\.100\.10\/ : HTTP 302 → http:\/\/10\.77\.0\.1:8880\/login\?to=/);
    line(/alice-laptop → https:\/\/198\.51\.100\.10\/ : refused at once/);
    line(/bob-phone \(exempt\) → http:\/\/198\.51\.100\.10\/ : HTTP 200/);
    line(/POST \/login : HTTP 303 → http:\/\/198\.51\.100\.10\//);
    line(/alice-laptop → http:\/\/198\.51\.100\.10\/ : HTTP 200 \(Example Books/);
    const mb = Number(/big-download\.bin : (\d+\.\d) MB of 64 MB, then nothing more/.exec(out)?.[1]);
    assert.ok(mb >= 15 && mb < 25, `the download stops near the 20MB allowance, got ${mb} MB:\n${out}`);
    const back = out.slice(out.indexOf('lands on the portal again'));
    assert.match(back, /alice-laptop → http:\/\/198\.51\.100\.10\/ : HTTP 302 → http:\/\/10\.77\.0\.1:8880\/login/, 'after the limit, the portal again');
    assert.match(back, /the login page tells her: "Your download allowance for this session is used up\."/);
    assert.deepEqual((await listNetns()).filter((n) => n.startsWith(`${PREFIX}-`)), [], 'the demo removed its lab');
  } finally {
    await labDown(PREFIX).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});
