/**
 * CPU profile of the real daemon during one `decisions import`: the daemon runs under `node --cpu-prof`
 * in a private namespace, receives the import through the CLI, and is stopped; the profile is summarised
 * by function (total = on the stack, self = in the function itself). `(idle)` is the daemon waiting,
 * mostly for nft.
 *
 *   node --import tsx bench/profile-daemon.ts --size 100000 [--top 25] [--keep DIR]
 */
import { mkdtemp, readdir, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { functionTimes, type CpuProfile } from './lib/cpuprofile.js';
import { BenchDaemon } from './lib/daemon.js';
import { randomPublicIPv4 } from './lib/ips.js';
import { BenchNamespace } from './lib/netns.js';
import { formatCount, secs, textTable } from './lib/stats.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { size: { type: 'string', default: '100000' }, top: { type: 'string', default: '25' }, keep: { type: 'string' } },
});
const size = Number(values.size);
const top = Number(values.top);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespace, nft)');
  const work = await mkdtemp(join(tmpdir(), 'ghbench-cpu-'));
  const ns = await BenchNamespace.create(`ghbench-cpu-${process.pid}`);
  try {
    const file = join(work, 'ips.txt');
    await writeFile(file, randomPublicIPv4(size).join('\n') + '\n');
    const profDir = join(work, 'prof');
    const d = await BenchDaemon.start(ns, join(work, 'daemon'), { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir] });
    let wall: number;
    let api: number;
    try {
      const r = await d.cli(['decisions', 'import', file, '--json']);
      if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
      wall = r.wallMs;
      api = (JSON.parse(r.stdout) as { ms: number }).ms;
    } finally {
      await d.stop();
    }
    const [name] = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
    if (!name) throw new Error('the daemon wrote no .cpuprofile');
    if (values.keep) await cp(join(profDir, name), join(values.keep, `daemon-import-${size}.cpuprofile`));
    const profile = JSON.parse(await readFile(join(profDir, name), 'utf8')) as CpuProfile;
    const rows = functionTimes(profile)
      .filter((f) => f.name !== '(root)')
      .slice(0, top)
      .map((f) => [secs(f.totalMs), secs(f.selfMs), f.name]);
    console.log(`daemon CPU profile, decisions import of ${formatCount(size)} (CLI wall ${secs(wall)}, API ${secs(api)}; profile covers start-up to stop)\n`);
    console.log(textTable(['total', 'self', 'function'], rows));
  } finally {
    await ns.remove();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`profile-daemon: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
