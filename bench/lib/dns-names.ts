import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The DNS benchmark's name space (as in ../shared/research/dns-anchors.md): blocked names are unique 3-label
 * names `<syllables>-<i base36>.<syllables>.bench`; allowed names live under zones no blocked entry can cover
 * (`ok-hot.bench`, `ok-new.bench`, `ip-bad.bench`), so exact-name and subtree lists give the same verdicts.
 */

const SYLLABLES = ['ka', 'lo', 'mi', 'nu', 'pe', 'ra', 'si', 'to', 'vu', 'za', 'ber', 'con', 'dex', 'fan', 'gol', 'hit', 'jam', 'lux', 'mor', 'nix', 'pod', 'qui', 'rex', 'sul', 'tan', 'vid', 'wox', 'yel'];

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32: deterministic lists, so every run and every server sees the same names.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

function word(rnd: () => number, min: number, max: number): string {
  const n = min + Math.floor(rnd() * (max - min + 1));
  let w = '';
  for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(rnd() * SYLLABLES.length)];
  return w;
}

/** `count` unique blocked names (unique by the base-36 counter in the first label). */
export function blockedNames(count: number, seed = 1): string[] {
  const rnd = prng(seed);
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) out[i] = `${word(rnd, 2, 4)}-${i.toString(36)}.${word(rnd, 2, 3)}.bench`;
  return out;
}

export const HOT_ZONE = 'ok-hot.bench';
export const NEW_ZONE = 'ok-new.bench';
export const BAD_ZONE = 'ip-bad.bench';

export function hotNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `h${i}.${HOT_ZONE}`);
}

/** Fresh names, unique across runs thanks to the persisted offset (see NameOffset). */
export function freshNames(zone: string, from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `n${(from + i).toString(36)}.${zone}`);
}

/** Hands out never-used name numbers; the next free one is kept in a file so later runs never reuse a name. */
export class NameOffset {
  private constructor(private readonly file: string, private next: number) {}

  static async open(dir: string): Promise<NameOffset> {
    const file = join(dir, 'offset');
    const n = Number((await readFile(file, 'utf8').catch(() => '0')).trim());
    return new NameOffset(file, Number.isSafeInteger(n) && n >= 0 ? n : 0);
  }

  async take(count: number): Promise<number> {
    const from = this.next;
    this.next += count;
    await writeFile(this.file, `${this.next}\n`);
    return from;
  }
}

/** Writes lines in chunks: a 1M-line list would be one ~25 MB string otherwise. */
export async function writeLines(file: string, count: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(file);
  const CHUNK = 50_000;
  for (let i = 0; i < count; i += CHUNK) {
    let s = '';
    for (let j = i; j < Math.min(count, i + CHUNK); j++) s += line(j) + '\n';
    if (!out.write(s)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/** A dnsperf input file of A queries. */
export function writeQueryFile(file: string, names: readonly string[]): Promise<void> {
  return writeLines(file, names.length, (i) => `${names[i]} A`);
}

export interface ListFiles {
  readonly size: number;
  /** One name a line: Gatehouse's `format: domains` list, and what dnsdist's Lua reads. */
  readonly domains: string;
  /** `0.0.0.0 name` lines. */
  readonly hosts: string;
  /** `address=/name/` lines for dnsmasq's conf-file. */
  readonly dnsmasq: string;
  /** `local-zone: "name." always_nxdomain` lines for unbound's include. */
  readonly unbound: string;
}

/** Every list format, written before any clock starts. */
export async function writeLists(dir: string, names: readonly string[]): Promise<ListFiles> {
  const files: ListFiles = {
    size: names.length,
    domains: join(dir, 'list-domains.txt'),
    hosts: join(dir, 'list-hosts.txt'),
    dnsmasq: join(dir, 'list-dnsmasq.conf'),
    unbound: join(dir, 'list-unbound.conf'),
  };
  const n = names.length;
  await writeLines(files.domains, n, (i) => names[i]!);
  await writeLines(files.hosts, n, (i) => `0.0.0.0 ${names[i]}`);
  await writeLines(files.dnsmasq, n, (i) => `address=/${names[i]}/`);
  await writeLines(files.unbound, n, (i) => `local-zone: "${names[i]}." always_nxdomain`);
  return files;
}

/** A uniform sample of the blocked names, shuffled (dnsperf loops over it). */
export function sample(names: readonly string[], count: number, seed = 7): string[] {
  const rnd = prng(seed);
  return Array.from({ length: Math.min(count, names.length) }, () => names[Math.floor(rnd() * names.length)]!);
}
