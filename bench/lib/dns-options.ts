import { positiveInt } from './args.js';
import type { QueryClass } from './dns-measure.js';
import { KNOWN_SERVERS, type ServerSpec } from './dns-servers.js';
import { resolve } from 'node:path';

/** bench/dns.ts's options: defaults (a ~10 min run at 1M names), --quick, and the flags. */

export interface DnsBenchOptions {
  readonly size: number;
  readonly servers: readonly ServerSpec[];
  readonly classes: readonly QueryClass[];
  readonly dur: number;
  readonly repeat: number;
  readonly rate: number;
  readonly latDur: number;
  readonly hot: number;
  readonly clients: number;
  readonly outstanding: number;
  readonly ceiling: number;
  /** Answer-IP check on the first Gatehouse server: 0 = skip. */
  readonly decisions: number;
  readonly ranges: number;
  readonly apiSamples: number;
  readonly workers?: number;
  readonly fromSource: boolean;
  readonly cpuProfDir?: string;
  readonly work: string;
  readonly out?: string;
  readonly netns: string;
  readonly quietWait: number;
  readonly startupTimeoutMs: number;
}

export const DNS_DEFAULTS: DnsBenchOptions = {
  size: 1_000_000,
  servers: ['dnsdist', 'unbound', 'unbound-2t', 'dnsmasq', 'gatehouse', 'gatehouse-qlog-full'].map((n) => KNOWN_SERVERS[n]!),
  classes: ['blocked', 'cached', 'uncached'],
  dur: 5,
  repeat: 3,
  rate: 2000,
  latDur: 5,
  hot: 1000,
  clients: 4,
  outstanding: 32,
  ceiling: 150_000,
  decisions: 1_000_000,
  ranges: 100_000,
  apiSamples: 50,
  fromSource: false,
  work: '/tmp/gatehouse-dnsbench',
  netns: `ghdns-${process.pid}`,
  quietWait: 0,
  startupTimeoutMs: 300_000,
};

export const QUICK: Partial<DnsBenchOptions> = { size: 100_000, dur: 2, repeat: 1, latDur: 2, decisions: 100_000, ranges: 10_000, apiSamples: 20 };

export const USAGE = `usage: bench/dns.ts [--quick] [--size N] [--servers ${Object.keys(KNOWN_SERVERS).join(',')}]
  [--classes blocked,cached,uncached,mix] [--dur S] [--repeat R] [--rate QPS] [--lat-dur S] [--hot N]
  [--clients C] [--outstanding Q] [--ceiling QPS] [--decisions N|0] [--ranges N] [--api-samples N]
  [--workers N] [--from-source] [--cpu-prof DIR] [--work DIR] [--out FILE] [--netns NAME] [--quiet-wait S] [--startup-timeout S]`;

export function parseDnsArgs(argv: readonly string[], base: DnsBenchOptions = DNS_DEFAULTS): DnsBenchOptions {
  let o: DnsBenchOptions = argv.includes('--quick') ? { ...base, ...QUICK } : { ...base };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const int = (): number => positiveInt(a.slice(2), next());
    switch (a) {
      case '--quick': case '--inside': break;
      case '--size': o = { ...o, size: int() }; break;
      case '--servers': o = { ...o, servers: next().split(',').map((n) => {
        const s = KNOWN_SERVERS[n];
        if (!s) throw new Error(`--servers: unknown server ${JSON.stringify(n)} (known: ${Object.keys(KNOWN_SERVERS).join(', ')})`);
        return s;
      }) }; break;
      case '--classes': o = { ...o, classes: next().split(',').map((c) => {
        if (!['blocked', 'cached', 'uncached', 'mix'].includes(c)) throw new Error(`--classes: unknown class ${JSON.stringify(c)}`);
        return c as QueryClass;
      }) }; break;
      case '--dur': o = { ...o, dur: int() }; break;
      case '--repeat': o = { ...o, repeat: int() }; break;
      case '--rate': o = { ...o, rate: int() }; break;
      case '--lat-dur': o = { ...o, latDur: int() }; break;
      case '--hot': o = { ...o, hot: int() }; break;
      case '--clients': o = { ...o, clients: int() }; break;
      case '--outstanding': o = { ...o, outstanding: int() }; break;
      case '--ceiling': o = { ...o, ceiling: int() }; break;
      case '--decisions': { const v = next(); o = { ...o, decisions: v === '0' ? 0 : positiveInt('decisions', v) }; break; }
      case '--ranges': o = { ...o, ranges: int() }; break;
      case '--api-samples': o = { ...o, apiSamples: int() }; break;
      case '--workers': o = { ...o, workers: int() }; break;
      case '--from-source': o = { ...o, fromSource: true }; break;
      case '--cpu-prof': o = { ...o, cpuProfDir: resolve(next()) }; break;
      case '--work': o = { ...o, work: resolve(next()) }; break;
      case '--out': o = { ...o, out: resolve(next()) }; break;
      case '--netns': o = { ...o, netns: next() }; break;
      case '--quiet-wait': o = { ...o, quietWait: int() }; break;
      case '--startup-timeout': o = { ...o, startupTimeoutMs: int() * 1000 }; break;
      case '--help': case '-h': throw new Error(USAGE);
      default: throw new Error(`unknown flag ${a}\n${USAGE}`);
    }
  }
  if (o.ranges >= o.decisions && o.decisions > 0) throw new Error('--ranges must be smaller than --decisions');
  return o;
}

