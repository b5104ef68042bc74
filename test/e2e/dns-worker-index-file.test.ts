/**
 * A real resolver worker (forked by the supervisor, real UDP on loopback) takes its domain index from the
 * file the daemon writes: it blocks what the file lists; a damaged or missing file is logged as an error
 * and the worker keeps answering with the index it had.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { buildQuery, DomainIndex, parseDomainList } from '../../src/dns/index.js';
import type { WorkerSettings } from '../../src/dns/ipc.js';
import { writeIndexFile } from '../../src/dns/lists/index-file.js';
import { Supervisor } from '../../src/dns/supervisor.js';
import type { ModuleLog } from '../../src/modules/index.js';
import { workerSettings } from './helpers/dns-runtime.js';

// Nothing listens on the upstream port: a name no list blocks ends SERVFAIL, which tells it apart from a blocked one.
const settings: WorkerSettings = workerSettings({ upstreamTimeoutMs: 300, answerCheck: 'off', rebinding: false });

const errors: string[] = [];
const log: ModuleLog = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (_o, msg) => void errors.push(msg),
  child: () => log,
};

async function rcode(address: string, name: string): Promise<string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const sock = dgram.createSocket('udp4');
  try {
    const msg = buildQuery({ name, qtype: 1, qclass: 1, cd: false, ednsUdpSize: 1232, dnssecOk: false }, 777)!;
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer for ${name}`)), 5000);
      sock.once('message', (m) => {
        clearTimeout(t);
        resolve(m);
      });
      sock.send(msg, port, host);
    });
    return (dnsPacket.decode(reply) as unknown as { rcode: string }).rcode;
  } finally {
    sock.close();
  }
}

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('dns worker: domain index from a file', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-m1-wkidx-'));
  const file = join(dir, 'dns-domains.idx');
  let sup: Supervisor;
  let address: string;

  before(async () => {
    sup = await Supervisor.start({ listen: ['127.0.0.1:0'], workers: 1, settings, log });
    address = sup.addresses()[0]!;
  });
  after(async () => {
    await sup?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('blocks the names of the file it is pointed at', async () => {
    assert.equal(await rcode(address, 'ads.m1.test'), 'SERVFAIL', 'nothing blocked before an index arrives');
    await writeIndexFile(DomainIndex.buildSync([{ id: 0, rules: parseDomainList('ads.m1.test\n', 'domains').rules }]), file, 1);
    sup.broadcast({ t: 'domains', file, generation: 1, rules: 1 });
    await until('the worker to block ads.m1.test', async () => (await rcode(address, 'ads.m1.test')) === 'NXDOMAIN');
    assert.equal(await rcode(address, 'sub.ads.m1.test'), 'NXDOMAIN', 'a domains-format entry covers its subtree');
    assert.equal(await rcode(address, 'other.m1.test'), 'SERVFAIL');
  });

  it('a damaged file: error in the log, the previous index still answers', async () => {
    writeFileSync(file, Buffer.alloc(64, 7));
    sup.broadcast({ t: 'domains', file, generation: 2, rules: 1 });
    await until('the error about the damaged file', () => errors.some((e) => /keeps its previous domain index: .*dns-domains\.idx is damaged/.test(e)));
    assert.equal(await rcode(address, 'ads.m1.test'), 'NXDOMAIN');
  });

  it('a missing file: error in the log, the previous index still answers; a good file later is taken', async () => {
    rmSync(file);
    sup.broadcast({ t: 'domains', file, generation: 3, rules: 1 });
    await until('the error about the missing file', () => errors.some((e) => /keeps its previous domain index: .*cannot be read/.test(e)));
    assert.equal(await rcode(address, 'ads.m1.test'), 'NXDOMAIN');
    await writeIndexFile(DomainIndex.buildSync([{ id: 0, rules: parseDomainList('new.m1.test\n', 'domains').rules }]), file, 4);
    sup.broadcast({ t: 'domains', file, generation: 4, rules: 1 });
    await until('the new index', async () => (await rcode(address, 'new.m1.test')) === 'NXDOMAIN');
    assert.equal(await rcode(address, 'ads.m1.test'), 'SERVFAIL', 'the new index replaced the old one');
  });
});
