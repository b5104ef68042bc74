/**
 * Real DNS servers on loopback for the upstream tests: Debian's unbound serving a small local zone (no internet
 * needed: everything outside it is answered from `local-zone: "." static`) over UDP/TCP, DoT and DoH, with a
 * throw-away CA made by openssl. Every process is tracked by PID and stopped by `stop()`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { createUpstream } from '../../../src/dns/upstream/create.js';

export const ZONE = 'u3.test';
export const TLS_NAME = 'dns.u3.test';
/** TXT records making the answer bigger than 512 bytes: truncated over UDP without EDNS. */
export const BIG_TXT_COUNT = 12;

let portCursor = 13000 + Math.floor(Math.random() * 80) * 10;
/** Ports from this helper's range (13000-13999), ten at a time. */
export function nextPorts(): number {
  portCursor += 10;
  if (portCursor > 13980) portCursor = 13000;
  return portCursor;
}

export interface Pki {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export function makeTempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `u3-${tag}-`));
}

/** A CA and a server certificate for dns.u3.test (and 127.0.0.1), signed by it. */
export function makePki(dir: string): Pki {
  const f = (n: string): string => join(dir, n);
  const run = (args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=u3 test CA']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${TLS_NAME}`]);
  writeFileSync(f('ext.cnf'), `subjectAltName=DNS:${TLS_NAME},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
  run(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf')]);
  return { dir, caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key') };
}

export interface UnboundPorts {
  dns: number;
  tls?: number;
  https?: number;
}

/** Every server started here, killed when the test process exits however it exits (no strays on this machine). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** One unbound process: `a.u3.test` A 192.0.2.10 (and `<tag>.u3.test` TXT naming this instance). */
export class Unbound {
  child: ChildProcess | undefined;
  private readonly conf: string;

  constructor(
    readonly dir: string,
    readonly ports: UnboundPorts,
    readonly tag: string,
    pki?: Pki,
  ) {
    const lines = [
      'server:',
      '  do-daemonize: no', '  username: ""', '  chroot: ""', `  directory: "${dir}"`, '  pidfile: ""',
      '  use-syslog: no', '  logfile: ""', '  verbosity: 0', '  num-threads: 1', '  do-ip6: no',
      '  module-config: "iterator"', '  access-control: 127.0.0.0/8 allow',
      `  port: ${ports.dns}`, `  interface: 127.0.0.1@${ports.dns}`,
      '  local-zone: "." static',
      `  local-zone: "${ZONE}." static`,
      `  local-data: "a.${ZONE}. 300 IN A 192.0.2.10"`,
      `  local-data: "a.${ZONE}. 300 IN AAAA 2001:db8::10"`,
      `  local-data: "who.${ZONE}. 300 IN TXT ${tag}"`,
      ...Array.from({ length: BIG_TXT_COUNT }, (_, i) => `  local-data: 'big.${ZONE}. 300 IN TXT "${String(i).padStart(2, '0')}-${'x'.repeat(60)}"'`),
    ];
    if (pki) {
      lines.push(`  tls-service-key: "${pki.keyFile}"`, `  tls-service-pem: "${pki.certFile}"`);
      if (ports.tls) lines.push(`  interface: 127.0.0.1@${ports.tls}`, `  tls-port: ${ports.tls}`);
      if (ports.https) lines.push(`  interface: 127.0.0.1@${ports.https}`, `  https-port: ${ports.https}`, '  http-endpoint: "/dns-query"');
    }
    lines.push('remote-control:', '  control-enable: no');
    this.conf = join(dir, `unbound-${tag}.conf`);
    writeFileSync(this.conf, lines.join('\n') + '\n');
    execFileSync('unbound-checkconf', [this.conf], { stdio: 'pipe' });
  }

  /** Starts unbound and waits until it answers over UDP. */
  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error(`unbound ${this.tag} is already running`);
    const child = spawn('unbound', ['-d', '-c', this.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    this.child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    const probe = createUpstream(`127.0.0.1:${this.ports.dns}`);
    try {
      for (let i = 0; i < 100; i++) {
        if (child.exitCode !== null) throw new Error(`unbound ${this.tag} exited: ${stderr}`);
        try {
          await probe.exchange(query(`a.${ZONE}`, 'A'), 200);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error(`unbound ${this.tag} did not answer: ${stderr}`);
    } finally {
      probe.close();
    }
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

let nextId = 1;
export function query(name: string, type: dnsPacket.RecordType, edns = false): Buffer {
  nextId = (nextId + 1) & 0xffff;
  return dnsPacket.encode({
    type: 'query', id: nextId, flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as unknown as dnsPacket.Answer] : [],
  });
}

export function decode(b: Buffer): dnsPacket.Packet {
  return dnsPacket.decode(b);
}

export function firstA(b: Buffer): string | undefined {
  for (const r of decode(b).answers ?? []) if (r.type === 'A') return r.data;
  return undefined;
}

export function txts(b: Buffer): string[] {
  return (decode(b).answers ?? []).flatMap((r) => (r.type === 'TXT' ? (r.data as Buffer[]).map((x) => x.toString()) : []));
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
/** The answer's RCODE by name, read from the header (dns-packet's types do not declare it). */
export function rcodeName(b: Buffer): string {
  return RCODES[b[3]! & 0x0f] ?? String(b[3]! & 0x0f);
}

export function truncated(b: Buffer): boolean {
  return (b[2]! & 0x02) !== 0;
}
