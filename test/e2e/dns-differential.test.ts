/**
 * Differential test of the DNS filter's verdicts (issue #10, Done means): `dig` against Gatehouse gives the
 * same verdicts as a real dnsmasq (`address=/d/`, `addn-hosts=`) and a real unbound (`local-zone: "d."
 * always_nxdomain`, `local-data:`) loaded with the same list, on more than 10,000 names drawn from the
 * corpora lists — listed names, names below them and names not listed. All three forward to one dnsmasq
 * that answers every name with 192.0.2.1, so a name either comes back blocked (NXDOMAIN, or a hosts file's
 * 0.0.0.0/127.0.0.1) or with that address.
 *
 * Semantics per format (DNS-DESIGN.md): hosts = the exact name only; domains and adblock `||d^` = the name
 * and everything below it; adblock `@@||d^` = an exception. On a mismatch the test names the names.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CLI_PATH } from '../../src/lab/gateway-runner.js';
import {
  digBatch, GatehouseDns, startDnsmasq, startEchoUpstream, startUnbound, verdictOf,
  type DigAnswer, type DnsProcess, type Verdict,
} from './helpers/dns-servers.js';

const LISTS = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'corpora', 'lists');
const UPSTREAM_IP = '192.0.2.1';
const NAME_SYNTAX = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))+$/;
/**
 * A name all three can hold. An all-digit last label is an address (`||77.247.178.41^` in the AdGuard
 * sample): Gatehouse's lists skip such rules by design (names only; addresses belong in an IP feed), while
 * dnsmasq and unbound would take "77.247.178.41" as a domain; no resolver is ever asked such a name.
 */
const HOSTNAME = { test: (n: string): boolean => NAME_SYNTAX.test(n) && !/\.[0-9]+$/.test(n) };
/** Names the hosts format reserves for the machine itself: never blocks, in any of the three. */
const HOSTS_SPECIAL = new Set(['localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback', '0.0.0.0']);

const haveTools = ['dig', 'dnsmasq', 'unbound'].every((t) => ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(`${d}/${t}`)));
const skip = !existsSync(CLI_PATH) ? 'needs a build (npm run build)'
  : !haveTools ? 'needs dig, dnsmasq and unbound (scripts/install-peers.sh)'
  : !existsSync(LISTS) ? `needs the corpora lists in ${LISTS}` : undefined;

/** Deterministic sample: the same names on every run, so a mismatch can be chased. */
function sample<T>(items: readonly T[], n: number, seed: number): T[] {
  const a = [...items];
  let s = seed >>> 0;
  for (let i = a.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

const parentOf = (n: string): string | undefined => {
  const i = n.indexOf('.');
  const p = i < 0 ? undefined : n.slice(i + 1);
  return p !== undefined && p.includes('.') ? p : undefined;
};

/** True when `name` or a domain above it is in `set`. */
function underAny(name: string, set: ReadonlySet<string>): string | undefined {
  for (let n: string | undefined = name; n !== undefined; n = n.includes('.') ? n.slice(n.indexOf('.') + 1) : undefined) {
    if (set.has(n)) return n;
  }
  return undefined;
}

function hostsNames(text: string): { ip: string; name: string }[] {
  const out: { ip: string; name: string }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, '').trim();
    const [ip, ...names] = line.split(/\s+/);
    if (!ip || names.length === 0) continue;
    for (const n of names) out.push({ ip, name: n.toLowerCase() });
  }
  return out;
}

interface Phase {
  readonly format: 'hosts' | 'domains' | 'adblock';
  /** The list file Gatehouse loads. */
  readonly listFile: string;
  readonly dnsmasqConf: string;
  readonly unboundLocal: string;
  /** Names to ask, with the verdict the format's semantics give. */
  readonly names: ReadonlyMap<string, 'blocked' | 'passed'>;
  /** A listed name, to know when every server has loaded the list. */
  readonly probe: string;
}

async function otherNames(exclude: (n: string) => boolean, n: number, seed: number): Promise<string[]> {
  const text = await readFile(join(LISTS, 'stevenblack-hosts-fakenews-gambling-porn-social-2019-03-27.head3000.hosts'), 'utf8');
  const more = await readFile(join(LISTS, 'adaway-default-hosts.txt'), 'utf8');
  const pool = [...new Set([...hostsNames(text), ...hostsNames(more)].map((h) => h.name))].filter((x) => HOSTNAME.test(x) && !HOSTS_SPECIAL.has(x) && !exclude(x));
  return sample(pool, n, seed);
}

async function hostsPhase(dir: string): Promise<Phase> {
  const listFile = join(LISTS, 'adaway-default-hosts.txt');
  const entries = hostsNames(await readFile(listFile, 'utf8')).filter((h) => (h.ip === '127.0.0.1' || h.ip === '0.0.0.0') && HOSTNAME.test(h.name) && !HOSTS_SPECIAL.has(h.name));
  const listed = new Set(entries.map((e) => e.name));
  const names = new Map<string, 'blocked' | 'passed'>();
  for (const n of sample([...listed], 4000, 1)) names.set(n, 'blocked');
  // Exact-name semantics: a name below a listed one is not blocked (unless listed itself).
  for (const n of sample([...listed], 1500, 2)) names.set(`gh-sub.${n}`, 'passed');
  for (const n of sample([...listed], 3000, 3)) {
    const p = parentOf(n);
    if (p !== undefined && !names.has(p)) names.set(p, listed.has(p) ? 'blocked' : 'passed');
  }
  for (const n of await otherNames((x) => listed.has(x), 1000, 4)) names.set(n, 'passed');
  const local = [...listed].sort().map((n) => `local-data: "${n}. 60 IN A 0.0.0.0"`).join('\n');
  return { format: 'hosts', listFile, dnsmasqConf: `server=127.0.0.1#{UP}\naddn-hosts=${listFile}\n`, unboundLocal: `${local}\n`, names, probe: [...listed][0]! };
}

async function domainsPhase(dir: string): Promise<Phase> {
  const listFile = join(LISTS, 'phishing-db-add-domain.txt');
  const listed = new Set((await readFile(listFile, 'utf8')).split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim().toLowerCase()).filter((l) => HOSTNAME.test(l)));
  const names = new Map<string, 'blocked' | 'passed'>();
  for (const n of listed) names.set(n, 'blocked');
  for (const n of listed) names.set(`gh-sub.${n}`, 'blocked');
  for (const n of listed) {
    const p = parentOf(n);
    if (p !== undefined && !names.has(p)) names.set(p, underAny(p, listed) ? 'blocked' : 'passed');
  }
  for (const n of await otherNames((x) => underAny(x, listed) !== undefined, 1500, 5)) names.set(n, 'passed');
  const sorted = [...listed].sort();
  return {
    format: 'domains', listFile, names, probe: sorted[0]!,
    dnsmasqConf: `server=127.0.0.1#{UP}\n${sorted.map((n) => `address=/${n}/`).join('\n')}\n`,
    unboundLocal: `${sorted.map((n) => `local-zone: "${n}." always_nxdomain`).join('\n')}\n`,
  };
}

async function adblockPhase(dir: string): Promise<Phase> {
  // The rules all three can express: `||domain^` and `@@||domain^`, nothing else; Gatehouse gets exactly these lines.
  const text = await readFile(join(LISTS, 'adguard-dns-filter-2019-04-13.sample.txt'), 'utf8');
  const block = new Set<string>();
  const allow = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const m = /^(@@)?\|\|([a-z0-9_.-]+)\^$/.exec(raw.trim().toLowerCase());
    if (!m || !HOSTNAME.test(m[2]!)) continue;
    (m[1] ? allow : block).add(m[2]!);
  }
  for (const a of allow) block.delete(a);
  const listFile = join(dir, 'adguard-pure.txt');
  await writeFile(listFile, ['! the AdGuard sample, only its ||domain^ and @@||domain^ rules', ...[...block].map((d) => `||${d}^`), ...[...allow].map((d) => `@@||${d}^`), ''].join('\n'));
  // Allow wins over a block of the same subtree; a block *below* an exception is where dnsmasq/unbound
  // (most specific wins) and "allow wins" part ways: such names are left out of the sample and reported.
  const verdict = (n: string): 'blocked' | 'passed' => (underAny(n, allow) ? 'passed' : underAny(n, block) ? 'blocked' : 'passed');
  const names = new Map<string, 'blocked' | 'passed'>();
  const add = (n: string) => {
    const a = underAny(n, allow);
    const b = underAny(n, block);
    if (a !== undefined && b !== undefined && b.length > a.length) return;
    names.set(n, verdict(n));
  };
  for (const n of sample([...block], 2500, 6)) add(n);
  for (const n of sample([...block], 1500, 7)) add(`gh-sub.${n}`);
  for (const n of allow) {
    add(n);
    add(`gh-sub.${n}`);
  }
  for (const n of sample([...block], 2000, 8)) {
    const p = parentOf(n);
    if (p !== undefined) add(p);
  }
  for (const n of await otherNames((x) => underAny(x, block) !== undefined || underAny(x, allow) !== undefined, 1000, 9)) add(n);
  const sortedBlock = [...block].sort();
  return {
    format: 'adblock', listFile, names, probe: sortedBlock[0]!,
    dnsmasqConf: `server=127.0.0.1#{UP}\n${sortedBlock.map((n) => `address=/${n}/`).join('\n')}\n${[...allow].map((n) => `server=/${n}/#`).join('\n')}\n`,
    unboundLocal: `${sortedBlock.map((n) => `local-zone: "${n}." always_nxdomain`).join('\n')}\n${[...allow].map((n) => `local-zone: "${n}." transparent`).join('\n')}\n`,
  };
}

interface Mismatch {
  readonly name: string;
  readonly expected: string;
  readonly got: Record<string, Verdict>;
}

describe('DNS verdicts: Gatehouse against dnsmasq and unbound on the corpora lists', { skip, timeout: 900_000 }, () => {
  let dir: string;
  let upstream: DnsProcess | undefined;
  const totals = { names: 0, mismatches: 0 };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gh-dns-diff-'));
    upstream = await startEchoUpstream(join(dir, 'upstream'), UPSTREAM_IP);
  });
  after(async () => {
    await upstream?.stop();
    process.stdout.write(`# differential: ${totals.names} names, ${totals.mismatches} mismatches\n`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const make of [hostsPhase, domainsPhase, adblockPhase]) {
    test(`${make.name.replace('Phase', '')} list: the same verdict from all three for every sampled name`, async () => {
      const phase = await make(dir);
      const pdir = join(dir, phase.format);
      const up = upstream!.port;
      const blockedRe = /status: NXDOMAIN|\s(0\.0\.0\.0|127\.0\.0\.1)\s*$/m;
      const servers: { name: string; port: number; stop(): Promise<void> }[] = [];
      try {
        const started = Date.now();
        const starting = await Promise.allSettled([
          startDnsmasq('dnsmasq', pdir, phase.dnsmasqConf.replace('{UP}', String(up)), { name: phase.probe, want: blockedRe }),
          startUnbound('unbound', pdir, up, phase.unboundLocal, { name: phase.probe, want: blockedRe }),
          // GH_DIFF_REFERENCES_ONLY=1 checks the harness and the references alone (dnsmasq against unbound).
          process.env.GH_DIFF_REFERENCES_ONLY ? Promise.reject(new Error('references only')) : GatehouseDns.start(join(pdir, 'gatehouse'), {
            upstreams: [`127.0.0.1:${up}`],
            strategy: 'strict',
            blocklists: [{ name: 'corpus', type: 'file', path: phase.listFile, format: phase.format }],
            rebinding_protection: false,
            answer_check: 'off',
            query_log: { mode: 'off' },
            workers: 1,
          }, { name: phase.probe, want: blockedRe }).then((g) => ({ name: 'gatehouse', port: g.port, stop: () => g.stop() })),
        ]);
        for (const r of starting) if (r.status === 'fulfilled') servers.push(r.value);
        const failed = starting.find((r, i): r is PromiseRejectedResult => r.status === 'rejected' && !(i === 2 && process.env.GH_DIFF_REFERENCES_ONLY));
        if (failed) throw failed.reason;
        const names = [...phase.names.keys()];
        const t0 = Date.now();
        const results = await Promise.all(servers.map((s) => digBatch(s.port, names, pdir, s.name)));
        const digMs = Date.now() - t0;
        // A lost datagram or a reference's odd moment is not a verdict: names some server did not answer
        // cleanly (timeout, SERVFAIL, an empty answer) are asked once more, alone, before comparing.
        const unclear = names.filter((name) => servers.some((_, i) => verdictOf(results[i]!.get(name), UPSTREAM_IP) !== 'blocked' && verdictOf(results[i]!.get(name), UPSTREAM_IP) !== 'passed'));
        if (unclear.length > 0 && unclear.length < 200) {
          const again = await Promise.all(servers.map((s) => digBatch(s.port, unclear, pdir, `${s.name}-again`)));
          servers.forEach((_, i) => again[i]!.forEach((a, name) => results[i]!.set(name, a)));
        }
        const mismatches: Mismatch[] = [];
        const modelOff: Mismatch[] = [];
        names.forEach((name) => {
          const got: Record<string, Verdict> = {};
          servers.forEach((s, i) => (got[s.name] = verdictOf(results[i]!.get(name) as DigAnswer | undefined, UPSTREAM_IP)));
          const expected = phase.names.get(name)!;
          const ours = got.gatehouse ?? got.dnsmasq;
          if (ours !== got.dnsmasq || ours !== got.unbound) mismatches.push({ name, expected, got });
          else if (ours !== expected) modelOff.push({ name, expected, got });
        });
        const blocked = names.filter((n) => phase.names.get(n) === 'blocked').length;
        totals.names += names.length;
        totals.mismatches += mismatches.length;
        process.stdout.write(`# ${phase.format}: ${names.length} names (${blocked} expected blocked), ${mismatches.length} mismatches, ` +
          `${modelOff.length} where all three agree against the format's model, ${unclear.length} asked twice; servers ready in ${t0 - started} ms, dig batches ${digMs} ms\n`);
        const show = (m: Mismatch[]) => m.slice(0, 25).map((x) => `  ${x.name}: expected ${x.expected}, ${Object.entries(x.got).map(([k, v]) => `${k}=${v}`).join(' ')}`).join('\n');
        assert.ok(names.length >= 3000, `sample too small: ${names.length}`);
        assert.equal(mismatches.length, 0, `${mismatches.length} names where Gatehouse disagrees with dnsmasq or unbound:\n${show(mismatches)}`);
        assert.equal(modelOff.length, 0, `${modelOff.length} names where all three disagree with the ${phase.format} semantics:\n${show(modelOff)}`);
      } finally {
        await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
      }
    });
  }

  test('the sample covers at least 10,000 names in all', () => {
    assert.ok(totals.names >= 10_000, `only ${totals.names} names`);
  });
});
