import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { spawnInNs } from '../../src/lab/ns.js';
import { BOUNCER_BIN } from './anchor.js';
import { ROOT } from './daemon.js';
import { countSetElements } from './kernel.js';
import type { BenchNamespace } from './netns.js';

const PORT = 18095;
const POLL_MS = 200;

export interface LiveAnchorRun {
  /** Bouncer exec → first poll that sees all N elements in its set. */
  readonly ms: number;
  /** Granularity of that figure: one poll interval plus one `nft -j list set`. */
  readonly resolutionMs: number;
}

/** Debian's default bouncer config, pointed at the stub, in the foreground, Prometheus off. */
function bouncerConfig(dir: string): Record<string, unknown> {
  return {
    mode: 'nftables',
    pid_dir: dir,
    update_frequency: '10s',
    daemonize: false,
    log_mode: 'stdout',
    log_level: 'info',
    api_url: `http://127.0.0.1:${PORT}/`,
    api_key: '0123456789abcdef0123456789abcdef',
    disable_ipv6: false,
    deny_action: 'DROP',
    deny_log: false,
    supported_decisions_types: ['ban'],
    nftables: {
      ipv4: { enabled: true, 'set-only': false, table: 'crowdsec', chain: 'crowdsec-chain' },
      ipv6: { enabled: true, 'set-only': false, table: 'crowdsec6', chain: 'crowdsec6-chain' },
    },
    prometheus: { enabled: false, listen_addr: '127.0.0.1', listen_port: 60601 },
  };
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms: ${seen.slice(-500)}`)), timeoutMs);
    child.stdout?.on('data', (b: Buffer) => {
      seen += b.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before ${pattern}: ${seen.slice(-500)}`)));
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

/**
 * Times the real crowdsec-firewall-bouncer loading `size` decisions cold, inside the namespace: the way
 * ../shared/research/crowdsec-peer.md measured the recorded figures, with a stub instead of a full LAPI
 * (the LAPI served 100k in ≤ 3.2 s there, outside the timed span's critical path).
 */
export async function runBouncerLive(ns: BenchNamespace, work: string, ipsFile: string, size: number, timeoutMs: number): Promise<LiveAnchorRun> {
  const cfg = join(work, 'bouncer.yaml');
  await writeFile(cfg, stringify(bouncerConfig(work)));
  let stub: ChildProcess | undefined;
  let bouncer: ChildProcess | undefined;
  try {
    stub = spawnInNs(ns.name, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'lib', 'lapi-stub.ts'), String(PORT), ipsFile], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await waitForLine(stub, /listening/, 30_000);
    const t0 = performance.now();
    bouncer = spawnInNs(ns.name, BOUNCER_BIN, ['-c', cfg], { stdio: ['ignore', 'ignore', 'ignore'] });
    let worst = 0;
    for (;;) {
      const p0 = performance.now();
      const r = await ns.nft(['-j', 'list', 'set', 'ip', 'crowdsec', 'crowdsec-blacklists']).catch(() => undefined);
      const n = r ? countSetElements(r.stdout) : 0;
      worst = Math.max(worst, performance.now() - p0);
      if (n >= size) return { ms: performance.now() - t0, resolutionMs: POLL_MS + worst };
      if (bouncer.exitCode !== null) throw new Error(`the bouncer exited with ${bouncer.exitCode} after loading ${n} of ${size}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`the bouncer loaded ${n} of ${size} within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    await stop(bouncer);
    await stop(stub);
    // The bouncer deletes its tables on SIGTERM; a SIGKILL would not.
    for (const t of ['ip crowdsec', 'ip6 crowdsec6']) await ns.nft(['delete', 'table', ...t.split(' ')]).catch(() => undefined);
  }
}
