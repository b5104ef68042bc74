/**
 * Issue #8 finding 6: `config check` of a 15 MB config peaked at 1.4 GB. A config file has a size limit with
 * a clear message, and YAML aliases cannot expand a small file into a huge document. Memory is measured in
 * a child process (its peak RSS), as the admin's `gatehouse config check` would use it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readConfig } from '../../src/daemon/index.js';

const LOAD = resolve(import.meta.dirname, '../../src/daemon/index.ts');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gh-cfg-size-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const HEAD = 'data_dir: /tmp/gh-cfg-size/data\ninterfaces:\n  lan: [lan0]\n  wan: [wan0]\n';

/** readConfig in a fresh process: its problems and the process's peak RSS in MiB. */
function checkInChild(file: string): Promise<{ problems: string[]; peakMiB: number }> {
  const script = `
    const { readConfig } = await import(${JSON.stringify(LOAD)});
    const r = readConfig(${JSON.stringify(file)});
    process.stdout.write(JSON.stringify({ problems: r.problems.map((p) => p.file + ': ' + p.message), peakMiB: process.resourceUsage().maxRSS / 1024 }));
  `;
  return new Promise((done, fail) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? fail(new Error(`${err.message}\n${stderr}`)) : done(JSON.parse(stdout) as { problems: string[]; peakMiB: number }),
    );
  });
}

test('a 15 MB config is refused with its size and the limit, without reading it all (peak RSS under 150 MiB)', async () => {
  const file = join(dir, 'big.yaml');
  const rows: string[] = [];
  for (let i = 0, size = 0; size < 15 * 1024 * 1024; i++) {
    const row = `    - { mac: '02:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:01', name: host-${i} }`;
    rows.push(row);
    size += row.length + 1;
  }
  writeFileSync(file, `${HEAD}clients:\n  names:\n${rows.join('\n')}\n`);
  const r = await checkInChild(file);
  process.stdout.write(`# config check of a 15 MB config: peak RSS ${r.peakMiB.toFixed(0)} MiB\n`);
  assert.equal(r.problems.length, 1, r.problems.slice(0, 3).join('\n'));
  assert.match(r.problems[0]!, /big\.yaml: the config file is 15\.\d MiB; the limit is 1 MiB/);
  assert.ok(r.peakMiB < 150, `peak RSS ${r.peakMiB.toFixed(0)} MiB`);
});

test('YAML aliases that would expand a small file into a million values are refused (peak RSS under 150 MiB)', async () => {
  const file = join(dir, 'aliases.yaml');
  const list = Array.from({ length: 12_000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`).join(', ');
  const refs = Array.from({ length: 90 }, (_, i) => `    - { path: /p${i}, format: plain_text, auth: ip_based, trusted_ips: *nets }`).join('\n');
  writeFileSync(file, `${HEAD}x-nets: &nets [${list}]\nmirror:\n  listen: 127.0.0.1:41412\n  endpoints:\n${refs}\n`);
  const r = await checkInChild(file);
  process.stdout.write(`# config check of a ${Math.round(list.length / 1024)} KB anchor used 90 times: peak RSS ${r.peakMiB.toFixed(0)} MiB\n`);
  assert.ok(r.problems.some((p) => /aliases would expand to more than 10000 values/.test(p)), r.problems.slice(0, 3).join('\n'));
  assert.ok(r.peakMiB < 150, `peak RSS ${r.peakMiB.toFixed(0)} MiB`);
  // The classic "billion laughs" too.
  const laughs = join(dir, 'laughs.yaml');
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (const [k, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e'], ['g', 'f'], ['h', 'g'], ['i', 'h']] as const) levels.push(`${k}: &${k} [${Array(10).fill(`*${prev}`).join(', ')}]`);
  writeFileSync(laughs, `${levels.join('\n')}\n${HEAD}`);
  const l = await checkInChild(laughs);
  assert.ok(l.problems.length > 0 && l.peakMiB < 150, `${l.problems[0]} / ${l.peakMiB.toFixed(0)} MiB`);
});

test('a config that is not a regular file of bounded size (/dev/zero) is refused at once', () => {
  const t0 = Date.now();
  const r = readConfig('/dev/zero');
  assert.equal(r.ok, false);
  assert.match(r.problems[0]!.message, /the config file is larger than 1 MiB|not a regular file/);
  assert.ok(Date.now() - t0 < 5000);
});

test('a config with a few aliases still loads', () => {
  const file = join(dir, 'ok.yaml');
  writeFileSync(
    file,
    `${HEAD}lapi:\n  listen: 127.0.0.1:8081\n  trusted_ips: &lan [10.77.0.0/24, fd77::/64]\nmirror:\n  listen: 127.0.0.1:41412\n  endpoints:\n    - { path: /a, format: plain_text, auth: ip_based, trusted_ips: *lan }\n    - { path: /b, format: mikrotik, auth: ip_based, trusted_ips: *lan }\n`,
  );
  const r = readConfig(file);
  assert.equal(r.ok, true, JSON.stringify(r.problems));
});
