import { netnsPath, run } from './ns.js';

/**
 * A LAN client's DNS lookup, the way the client itself would make it: `ip netns exec <ns> dig name`, which
 * reads the client's /etc/netns/<ns>/resolv.conf (the gateway), or `@server` when given.
 */

export interface LookupResult {
  readonly name: string;
  readonly type: string;
  /** NOERROR, NXDOMAIN, SERVFAIL…, or 'TIMEOUT' when nothing answered. */
  readonly status: string;
  /** Data of the answer section (addresses, CNAME targets, TXT). */
  readonly answers: readonly string[];
  /** RFC 8914 Extended DNS Error, as dig prints it (`17 (Filtered): (why)`). */
  readonly ede?: string;
}

/** Parses `dig +noall +comments +answer` output of one query. Pure. */
export function parseDig(name: string, type: string, out: string): LookupResult {
  const status = /status: ([A-Z]+)/.exec(out)?.[1] ?? 'TIMEOUT';
  const answers: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\S+\s+\d+\s+IN\s+[A-Z0-9]+\s+(.+)$/.exec(line);
    if (m) answers.push(m[1]!.trim());
  }
  const ede = /; EDE: (.*)$/m.exec(out)?.[1];
  return { name, type, status, answers, ...(ede !== undefined ? { ede } : {}) };
}

export async function lookupFrom(ns: string, name: string, type = 'A', server?: string): Promise<LookupResult> {
  netnsPath(ns);
  const args = ['netns', 'exec', ns, 'dig', ...(server ? [`@${server}`] : []), name, type, '+tries=1', '+time=3', '+noall', '+comments', '+answer'];
  const r = await run('ip', args, { timeoutMs: 20_000 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  return parseDig(name, type, r.stdout);
}

/** One line for a person: `NXDOMAIN — blocked: …` or `203.0.113.66`. */
export function describeLookup(r: LookupResult): string {
  if (r.status === 'NOERROR') return r.answers.length > 0 ? r.answers.join(', ') : 'NOERROR (no records)';
  return `${r.status}${r.ede ? ` — ${r.ede}` : ''}`;
}
