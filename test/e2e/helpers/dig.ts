import { nsExec } from '../../../src/lab/ns.js';
import { parseDigBatch, type DigAnswer } from './dns-servers.js';

export interface DigResult extends DigAnswer {
  /** dig's whole output, for failure messages. */
  readonly raw: string;
  /** Wall time of the dig process. */
  readonly ms: number;
  /** dig said it retried over TCP after a truncated UDP answer. */
  readonly retriedTcp: boolean;
  /** TXT strings of the answer, joined per record. */
  readonly txt: readonly string[];
}

/**
 * `dig @server name type` run inside a lab namespace (as a LAN client would ask), one try, parsed.
 * `extra` takes dig options such as +tcp, +noedns, +time=N.
 */
export async function digIn(ns: string, server: string, name: string, type = 'A', extra: readonly string[] = []): Promise<DigResult> {
  const t0 = Date.now();
  const r = await nsExec(ns, 'dig', [`@${server}`, name, type, '+tries=1', '+time=5', '+noall', '+comments', '+question', '+answer', ...extra], { timeoutMs: 60_000 })
    .catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '', stderr: '' }));
  const ms = Date.now() - t0;
  const parsed = parseDigBatch(r.stdout).get(name.toLowerCase().replace(/\.$/, ''));
  const txt: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\S+\s+\d+\s+IN\s+TXT\s+(.*)$/.exec(line);
    if (m) txt.push(m[1]!);
  }
  return {
    status: parsed?.status ?? 'NO ANSWER',
    answers: parsed?.answers ?? [],
    ...(parsed?.ede !== undefined ? { ede: parsed.ede } : {}),
    raw: r.stdout,
    ms,
    retriedTcp: /Truncated, retrying in TCP mode/.test(r.stdout),
    txt,
  };
}

/** For assertion messages. */
export const show = (r: DigResult): string => `${r.status} [${r.answers.join(', ')}]${r.ede ? ` EDE ${r.ede}` : ''}`;
