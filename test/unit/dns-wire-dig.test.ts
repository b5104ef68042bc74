/**
 * Our replies as dig (BIND 9.18) reads them, over real UDP and TCP sockets on loopback: the block reason in the
 * Extended DNS Error, no OPT for a client without EDNS, and the TC → TCP retry for an answer too big for UDP.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Answer } from 'dns-packet';
import { blockedReply, fitUdp, parseQuery, wireErrorReply, withId, type Query } from '../../src/dns/index.js';
import { replyMsg } from './helpers/dns-wire-gen.js';

const run = promisify(execFile);
const BIG: Answer[] = Array.from({ length: 60 }, (_, i) => ({ type: 'A', name: 'big.example', ttl: 300, data: `192.0.2.${i}` }));

/** A toy server built from the wire layer only: big.example gets 60 A records, everything else is blocked. */
function answer(msg: Buffer, overUdp: boolean): Buffer | undefined {
  const q = parseQuery(msg);
  if ('kind' in q) return wireErrorReply(q, msg);
  const reply = q.name === 'big.example' ? bigReply(q, msg) : blockedReply(q, msg, 'nxdomain', { code: 15, text: 'blocked by list ads' }, 60);
  return overUdp ? fitUdp(reply, q.ednsUdpSize ?? 512) : reply;
}

function bigReply(q: Query, msg: Buffer): Buffer {
  const r = replyMsg('big.example', { answers: BIG, edns: q.ednsUdpSize !== undefined });
  r.set(msg.subarray(12, q.questionEnd), 12);
  return withId(r, q.id);
}

let udp: dgram.Socket;
let tcp: net.Server;
let port = 0;

before(async () => {
  tcp = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const reply = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), false);
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        if (reply !== undefined) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(reply.length);
          s.write(Buffer.concat([len, reply]));
        }
      }
    });
    s.on('error', () => s.destroy());
  });
  await new Promise<void>((res) => tcp.listen(0, '127.0.0.1', res));
  port = (tcp.address() as net.AddressInfo).port;
  udp = dgram.createSocket('udp4');
  udp.on('message', (m, rinfo) => {
    const reply = answer(m, true);
    if (reply !== undefined) udp.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((res) => udp.bind(port, '127.0.0.1', res));
});

after(() => {
  udp.close();
  tcp.close();
});

async function dig(...args: string[]): Promise<string> {
  const { stdout } = await run('dig', [`@127.0.0.1`, '-p', String(port), '+tries=1', '+time=3', ...args]);
  return stdout;
}

describe('dig against replies built by the wire layer', () => {
  it('a blocked name: NXDOMAIN, the SOA, and "EDE: 15 (Blocked)" with the list named', async () => {
    const out = await dig('Ads.Example', 'A');
    assert.match(out, /status: NXDOMAIN/);
    assert.match(out, /EDE: 15 \(Blocked\): \(blocked by list ads\)/);
    assert.match(out, /^Ads\.Example\.\s+60\s+IN\s+SOA\s+gatehouse\.invalid\. hostmaster\.gatehouse\.invalid\. 1 1800 900 604800 60$/m);
    assert.match(out, /udp: 1232/);
  });

  it('without EDNS (+noedns) there is no OPT and no EDE, the answer is otherwise the same', async () => {
    const out = await dig('+noedns', 'ads.example');
    assert.match(out, /status: NXDOMAIN/);
    assert.doesNotMatch(out, /OPT PSEUDOSECTION|EDE/);
  });

  it('an answer too big for UDP comes back truncated and dig gets it whole over TCP', async () => {
    const out = await dig('+bufsize=1232', 'big.example');
    assert.match(out, /Truncated, retrying in TCP mode/);
    assert.match(out, /ANSWER: 60,/);
    assert.equal(out.match(/^big\.example\.\s+300\s+IN\s+A\s+192\.0\.2\.\d+$/gm)?.length, 60);
  });
});
