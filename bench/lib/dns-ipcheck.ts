import { ApiClient } from '../../src/cli/api-client.js';
import { maxRun, type MeasureOpts } from './dns-measure.js';
import type { DnsBenchOptions } from './dns-options.js';
import { treeMemory, waitCpuQuiet } from './dns-proc.js';
import { wrongAnswers, type IpCheckResult } from './dns-report.js';
import { randomPublicIPv4 } from './ips.js';
import { probe } from './dns-probe.js';
import { DUT_PORT, HOST } from './dns-servers.js';

/** The answer-IP check's cost: uncached and badip runs before and after a bulk import of outbound decisions. */

/** `total − ranges` single addresses and `ranges` /24s (198.51.100.0/24, the bad answer's range, among them). */
export function decisionLines(total: number, ranges: number): string {
  const singles = randomPublicIPv4(total - ranges, 11);
  const nets = new Set<string>(['198.51.100.0/24']);
  for (const ip of randomPublicIPv4(ranges * 2, 12)) {
    if (nets.size >= ranges) break;
    nets.add(`${ip.slice(0, ip.lastIndexOf('.'))}.0/24`);
  }
  return `${singles.join('\n')}\n${[...nets].join('\n')}\n`;
}

/** How long to wait for the server to be quiet after the import before measuring anyway. */
const SETTLE_MAX_MS = 300_000;

/** A probe every 250 ms (200 ms timeout) of one name; counts answers and the longest time without one. */
class Availability {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly r = { probes: 0, answered: 0, longestGapMs: 0 };

  constructor(private readonly name: string) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      let lastOk = performance.now();
      while (this.running) {
        const t = performance.now();
        const reply = await probe(HOST, DUT_PORT, this.name, 200);
        this.r.probes++;
        const now = performance.now();
        if (reply) {
          this.r.answered++;
          lastOk = now;
        }
        this.r.longestGapMs = Math.max(this.r.longestGapMs, now - lastOk);
        await new Promise((res) => setTimeout(res, Math.max(0, 250 - (performance.now() - t))));
      }
    })();
  }

  async stop(): Promise<{ probes: number; answered: number; longestGapMs: number }> {
    this.running = false;
    await this.loop;
    return { ...this.r };
  }
}

export async function ipCheck(name: string, root: number, log: (line: string) => void, socket: string, o: DnsBenchOptions, m: MeasureOpts, hotName: string): Promise<IpCheckResult> {
  const runs = async (c: 'uncached' | 'badip') => {
    const out = [];
    for (let i = 0; i < o.repeat; i++) out.push(await maxRun(root, c, m));
    return out;
  };
  // Fresh runs right before the import, so the two sides differ by the decisions and little else.
  const before = { uncached: await runs('uncached'), badip: await runs('badip') };
  const idleBefore = await waitCpuQuiet(root, 0);
  log(`${name}: importing ${o.decisions} outbound decisions (${o.ranges} ranges)`);
  const body = decisionLines(o.decisions, o.ranges);
  // DNS must keep answering while the decisions arrive: one cached name every 250 ms, from the import's start
  // until the server is quiet again.
  const avail = new Availability(hotName);
  avail.start();
  const t0 = performance.now();
  try {
    await new ApiClient({ socket }).send('POST /v1/decisions/import', { query: { direction: 'outbound', origin: 'bench', force: true }, body });
  } catch (e) {
    await avail.stop();
    return { decisions: o.decisions, ranges: o.ranges, importMs: 0, before, after: {}, error: `import failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  const importMs = performance.now() - t0;
  // The IP index reaches the workers after the store commits: measure once the daemon and workers are quiet.
  const quiet = await waitCpuQuiet(root, SETTLE_MAX_MS);
  const availability = await avail.stop();
  const settleMs = quiet.ms;
  const settled = quiet.share <= 0.1;
  log(`${name}: imported in ${(importMs / 1000).toFixed(1)} s; ${settled ? 'quiet' : `still using ${(100 * quiet.share).toFixed(0)} % of a CPU`} ${(settleMs / 1000).toFixed(1)} s later (idle before: ${(100 * idleBefore.share).toFixed(0)} %); DNS answered ${availability.answered} of ${availability.probes} probes meanwhile, longest gap ${(availability.longestGapMs / 1000).toFixed(1)} s`);
  const after = { uncached: await runs('uncached'), badip: await runs('badip') };
  const bad = wrongAnswers(after.badip, 'NXDOMAIN');
  return {
    decisions: o.decisions, ranges: o.ranges, importMs, settleMs, settled, availability, before, after, memAfter: await treeMemory(root),
    ...(bad > 0 ? { note: `${bad} badip answers were not NXDOMAIN: the answer check did not block them` } : {}),
  };
}

