import { spawn } from 'node:child_process';

/** Runs dnsperf (already inside the benchmark's namespace) and reads its summary and per-query lines. */

export interface PerfResult {
  readonly sent: number;
  readonly completed: number;
  readonly lost: number;
  readonly qps: number;
  readonly runSeconds: number;
  /** Response code → count, e.g. { NXDOMAIN: 1000 }. */
  readonly rcodes: Readonly<Record<string, number>>;
  /** Per-query latencies in ms (only with `verbose`). */
  readonly latenciesMs: readonly number[];
}

export interface PerfJob {
  readonly server: string;
  readonly port: number;
  readonly file: string;
  readonly seconds: number;
  /** Self-paced max mode: clients and outstanding queries (`-c 4 -q 32`). */
  readonly clients: number;
  readonly outstanding: number;
  /** Offered rate (`-Q`); undefined = as fast as the server answers. */
  readonly rate?: number;
  /** Go through the file at most once (fresh names must never repeat). */
  readonly once?: boolean;
  readonly verbose?: boolean;
}

export function parsePerf(out: string): PerfResult {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    if (!m) throw new Error(`dnsperf output without ${re.source}:\n${out.slice(-2000)}`);
    return Number(m[1]);
  };
  const rcodes: Record<string, number> = {};
  const codes = /^\s*Response codes:\s*(.*)$/m.exec(out)?.[1] ?? '';
  for (const m of codes.matchAll(/([A-Z]+) (\d+) \(/g)) rcodes[m[1]!] = Number(m[2]);
  const latenciesMs: number[] = [];
  for (const m of out.matchAll(/^> \S+ \S+ \S+ (\d+\.\d+)$/gm)) latenciesMs.push(Number(m[1]) * 1000);
  return {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    runSeconds: num(/Run time \(s\):\s+([\d.]+)/),
    rcodes,
    latenciesMs,
  };
}

export function perfArgs(j: PerfJob): string[] {
  const a = ['-s', j.server, '-p', String(j.port), '-d', j.file, '-l', String(j.seconds), '-c', String(j.clients), '-q', String(j.outstanding)];
  if (j.rate !== undefined) a.push('-Q', String(j.rate));
  if (j.once) a.push('-n', '1');
  if (j.verbose) a.push('-v');
  return a;
}

export function runPerf(j: PerfJob): Promise<PerfResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('dnsperf', perfArgs(j), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8');
      if (code !== 0) return reject(new Error(`dnsperf exited with ${code}: ${Buffer.concat(err).toString('utf8')}${text.slice(-1000)}`));
      try {
        resolve(parsePerf(text));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** The q-quantile (0..1) of unsorted values, nearest rank. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
