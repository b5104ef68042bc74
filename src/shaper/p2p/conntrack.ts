import { isIP } from 'node:net';

/** One direction of a tracked connection. */
export interface FlowTuple {
  readonly src: string;
  readonly dst: string;
  /** Absent for protocols without ports (ICMP). */
  readonly sport?: number;
  readonly dport?: number;
  /** With nf_conntrack_acct=1 only. */
  readonly packets?: number;
  readonly bytes?: number;
}

/** One line of `conntrack -L -o extended`. */
export interface TrackedFlow {
  readonly family: 4 | 6;
  readonly proto: string;
  /** The original direction: for a LAN client's outbound flow, src is the client (before masquerade). */
  readonly orig: FlowTuple;
  readonly reply?: FlowTuple;
  readonly mark: number;
}

export interface ParsedConntrack {
  readonly flows: readonly TrackedFlow[];
  /** Non-empty lines that were not a flow (the tool's summary line goes to stderr; anything else counts here). */
  readonly skipped: number;
}

const PROTO = /^[a-z0-9-]{1,16}$/;
const UINT = /^[0-9]{1,20}$/;

function uint(v: string | undefined, max: number): number | undefined {
  if (v === undefined || !UINT.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}

function tuple(kv: ReadonlyMap<string, string>, family: 4 | 6): FlowTuple | undefined {
  const src = kv.get('src');
  const dst = kv.get('dst');
  if (src === undefined || dst === undefined || isIP(src) !== family || isIP(dst) !== family) return undefined;
  const sport = uint(kv.get('sport'), 65535);
  const dport = uint(kv.get('dport'), 65535);
  const packets = uint(kv.get('packets'), Number.MAX_SAFE_INTEGER);
  const bytes = uint(kv.get('bytes'), Number.MAX_SAFE_INTEGER);
  return {
    src,
    dst,
    ...(sport !== undefined ? { sport } : {}),
    ...(dport !== undefined ? { dport } : {}),
    ...(packets !== undefined ? { packets } : {}),
    ...(bytes !== undefined ? { bytes } : {}),
  };
}

/** One line, or undefined when it is not a well-formed flow (never throws). */
export function parseConntrackLine(line: string): TrackedFlow | undefined {
  const tokens = line.trim().split(/\s+/);
  const fam = tokens[0] === 'ipv4' ? 4 : tokens[0] === 'ipv6' ? 6 : undefined;
  const proto = tokens[2];
  if (fam === undefined || proto === undefined || !PROTO.test(proto)) return undefined;
  // key=value pairs; a second `src=` starts the reply tuple.
  const dirs: Map<string, string>[] = [new Map()];
  let mark = 0;
  for (const t of tokens.slice(3)) {
    const eq = t.indexOf('=');
    if (eq <= 0) continue;
    const k = t.slice(0, eq);
    const v = t.slice(eq + 1);
    if (k === 'mark') {
      mark = uint(v, 0xffffffff) ?? 0;
      continue;
    }
    if (k === 'src' && dirs[dirs.length - 1]!.has('src')) {
      if (dirs.length === 2) break;
      dirs.push(new Map());
    }
    const cur = dirs[dirs.length - 1]!;
    if (!cur.has(k)) cur.set(k, v);
  }
  const orig = tuple(dirs[0]!, fam);
  if (!orig) return undefined;
  const reply = dirs[1] ? tuple(dirs[1], fam) : undefined;
  return { family: fam, proto, orig, ...(reply ? { reply } : {}), mark };
}

export function parseConntrack(text: string): ParsedConntrack {
  const flows: TrackedFlow[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = parseConntrackLine(line);
    if (f) flows.push(f);
    else skipped++;
  }
  return { flows, skipped };
}

/**
 * Every tracked flow of both families (`conntrack -L -f ipv4|ipv6 -o extended`), for the P2P heuristic and
 * the per-client connection counts alike: one listing serves both.
 */
export async function readConntrack(exec: (cmd: string, args: readonly string[]) => Promise<{ code: number; stdout: string; stderr: string }>): Promise<TrackedFlow[]> {
  const flows: TrackedFlow[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const r = await exec('conntrack', ['-L', '-f', family, '-o', 'extended']);
    if (r.code !== 0) throw new Error(`conntrack -L -f ${family} failed: ${r.stderr.trim().slice(0, 200)}`);
    flows.push(...parseConntrack(r.stdout).flows);
  }
  return flows;
}

/** Open connections per original source address (both families). */
export function countConnections(flows: readonly TrackedFlow[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of flows) out.set(f.orig.src, (out.get(f.orig.src) ?? 0) + 1);
  return out;
}
