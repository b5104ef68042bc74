/**
 * The P2P signature rules against packet bytes: the offsets written into the nft rules (as the kernel will
 * read them: `@ih` = start of the TCP payload after options, `@th` = start of the UDP header) pick out the
 * real protocol bytes the lab swarm sends, and ordinary traffic (HTTP, TLS, DNS, QUIC-like noise) never
 * matches.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { btHandshake, dhtPing, dhtPong, utpHeader, udpTrackerConnect } from '../../src/lab/swarm.js';
import { matchSignatures, p2pRules, PAYLOAD_SIGNATURES, type SignatureName } from '../../src/shaper/p2p/index.js';

/** A TCP segment as on the wire: 20-byte header + `options` bytes of options (data offset set), then payload. */
function tcpSegment(payload: Uint8Array, options = 12): Buffer {
  const h = Buffer.alloc(20 + options);
  h.writeUInt16BE(51413, 0);
  h.writeUInt16BE(6881, 2);
  h.writeUInt32BE(0x01020304, 4);
  h[12] = ((20 + options) / 4) << 4;
  h[13] = 0x18; // PSH ACK
  for (let i = 20; i < 20 + options; i++) h[i] = 1; // NOP options
  return Buffer.concat([h, payload]);
}

function udpDatagram(payload: Uint8Array): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(51413, 0);
  h.writeUInt16BE(6881, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** What the rendered nft rule text says, applied to the bytes on its own (not through matchSignatures). */
function ruleMatches(ruleText: string, proto: 'tcp' | 'udp', l4: Buffer): boolean {
  const m = /@(ih|th),(\d+),(\d+) 0x([0-9a-f]+)/.exec(ruleText);
  assert.ok(m, ruleText);
  if (proto === 'tcp' && !ruleText.includes('meta l4proto tcp')) return false;
  if (proto === 'udp' && !ruleText.startsWith('udp ') && !ruleText.includes('meta l4proto udp')) return false;
  const len = /udp length (>= )?(\d+)/.exec(ruleText);
  if (len) {
    const actual = l4.readUInt16BE(4);
    if (len[1] ? actual < Number(len[2]) : actual !== Number(len[2])) return false;
  }
  const base = m[1] === 'ih' ? (l4[12]! >> 4) * 4 : 0;
  const start = base + Number(m[2]) / 8;
  const bytes = Number(m[3]) / 8;
  const want = Buffer.from(m[4]!.padStart(bytes * 2, '0'), 'hex');
  return l4.length >= start + bytes && l4.subarray(start, start + bytes).equals(want);
}

const sigRules = (): string[] => (p2pRules({ lan: ['br-lan'] }).chains ?? []).find((c) => c.name === 'shaper_p2p_sig')!.rules.map((r) => r.text);

function names(proto: 'tcp' | 'udp', l4: Buffer): SignatureName[] {
  return [...new Set(matchSignatures(proto, l4).map((s) => s.name))];
}

function kernelNames(proto: 'tcp' | 'udp', l4: Buffer): SignatureName[] {
  const hits = sigRules()
    .map((text, i) => ({ text, sig: PAYLOAD_SIGNATURES[i]! }))
    .filter((r) => ruleMatches(r.text, proto, l4));
  return [...new Set(hits.map((h) => h.sig.name))];
}

describe('P2P signatures', () => {
  const id = randomBytes(20);
  const tid = Buffer.from('aa');
  const cases: { what: string; proto: 'tcp' | 'udp'; l4: Buffer; want: SignatureName[] }[] = [
    { what: 'BT handshake after 12 bytes of TCP options', proto: 'tcp', l4: tcpSegment(btHandshake(randomBytes(20), randomBytes(20))), want: ['bittorrent-handshake'] },
    { what: 'BT handshake, no TCP options', proto: 'tcp', l4: tcpSegment(btHandshake(randomBytes(20), randomBytes(20)), 0), want: ['bittorrent-handshake'] },
    { what: 'DHT ping', proto: 'udp', l4: udpDatagram(dhtPing(id, tid)), want: ['dht'] },
    { what: 'DHT pong', proto: 'udp', l4: udpDatagram(dhtPong(id, tid)), want: ['dht'] },
    { what: 'DHT response with BEP 42 ip', proto: 'udp', l4: udpDatagram(Buffer.concat([Buffer.from('d2:ip6:'), randomBytes(6), Buffer.from('1:rd2:id20:'), id, Buffer.from('e1:t2:aa1:y1:re')])), want: ['dht'] },
    { what: 'uTP SYN', proto: 'udp', l4: udpDatagram(utpHeader('syn', 7, 1)), want: ['utp'] },
    { what: 'UDP tracker connect', proto: 'udp', l4: udpDatagram(udpTrackerConnect(0xdeadbeef)), want: ['udp-tracker'] },
    { what: 'HTTP GET', proto: 'tcp', l4: tcpSegment(Buffer.from('GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n')), want: [] },
    { what: 'TLS ClientHello start', proto: 'tcp', l4: tcpSegment(Buffer.concat([Buffer.from('160301020001', 'hex'), randomBytes(200)])), want: [] },
    { what: 'handshake bytes inside TCP options only', proto: 'tcp', l4: Buffer.concat([tcpSegment(Buffer.alloc(0), 0).fill(0x90, 12, 13), Buffer.from('\x13BitTorrent prot', 'latin1')]), want: [] },
    { what: 'DNS query', proto: 'udp', l4: udpDatagram(Buffer.from('12340100000100000000000007657861' + '6d706c6500000100 01'.replace(/ /g, ''), 'hex')), want: [] },
    { what: 'uTP SYN with a payload (not a bare header)', proto: 'udp', l4: udpDatagram(Buffer.concat([utpHeader('syn', 7, 1), randomBytes(4)])), want: [] },
    { what: 'DHT prefix but too short to hold a node id', proto: 'udp', l4: udpDatagram(Buffer.from('d1:ad2:id20:abc')), want: [] },
    { what: 'bencode "d1:ad" over TCP', proto: 'tcp', l4: tcpSegment(dhtPing(id, tid)), want: [] },
  ];
  for (const c of cases) {
    it(`${c.what}: ${c.want.join(', ') || 'no match'}`, () => {
      assert.deepEqual(names(c.proto, c.l4), c.want);
      assert.deepEqual(kernelNames(c.proto, c.l4), c.want, 'the rendered nft rule text agrees');
    });
  }

  it('random payloads of every size match nothing', () => {
    for (let n = 0; n < 2000; n++) {
      const p = randomBytes(n % 120);
      assert.deepEqual(names('udp', udpDatagram(p)), []);
      assert.deepEqual(names('tcp', tcpSegment(p)), []);
    }
  });

  it('the BT handshake is the 68 bytes of BEP 3', () => {
    const h = btHandshake(Buffer.alloc(20, 1), Buffer.alloc(20, 2));
    assert.equal(h.length, 68);
    assert.equal(h[0], 19);
    assert.equal(h.subarray(1, 20).toString(), 'BitTorrent protocol');
    assert.deepEqual([...h.subarray(28, 48)], Array(20).fill(1));
  });
});
