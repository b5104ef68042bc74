/**
 * P2P behaviour from conntrack: the parser on `conntrack -L -o extended` text captured from the lab gateway
 * (plus hand-written ICMP and IPv6 lines in the same format), fuzzed so no input makes it throw or invent a
 * flow, and the heuristic on flow sets that look like a swarm, like browsing, and like the gateway itself.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { analyseBehaviour, parseConntrack, parseConntrackLine, privateClient, type TrackedFlow } from '../../src/shaper/p2p/index.js';

const CAPTURED = readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'conntrack-extended.txt'), 'utf8');

describe('conntrack -L -o extended parser', () => {
  it('reads every captured line: family, protocol, both tuples, counters, mark', () => {
    const { flows, skipped } = parseConntrack(CAPTURED);
    assert.equal(skipped, 0);
    assert.equal(flows.length, CAPTURED.trim().split('\n').length);
    const tcp = flows[0]!;
    assert.deepEqual(tcp, {
      family: 4,
      proto: 'tcp',
      orig: { src: '10.77.0.10', dst: '198.51.100.101', sport: 46160, dport: 20001, packets: 14, bytes: 804 },
      reply: { src: '198.51.100.101', dst: '192.0.2.2', sport: 20001, dport: 46160, packets: 13, bytes: 100752 },
      mark: 1,
    });
    const icmp = flows.find((f) => f.proto === 'icmp')!;
    assert.equal(icmp.orig.dport, undefined);
    assert.equal(icmp.orig.src, '10.77.0.11');
    const v6 = flows.filter((f) => f.family === 6);
    assert.equal(v6.length, 2);
    assert.equal(v6[1]!.reply?.src, '2001:db8:10::10', 'UNREPLIED flows still carry their reply tuple');
    assert.equal(v6[1]!.orig.packets, undefined, 'no counters without accounting');
  });

  it('skips what is not a flow and never takes a reply address for the original', () => {
    assert.equal(parseConntrackLine('conntrack v1.4.7 (conntrack-tools): 12 flow entries have been shown.'), undefined);
    assert.equal(parseConntrackLine('ipv4 2 tcp 6 10 ESTABLISHED src=10.0.0.1 dst=not-an-ip sport=1 dport=2'), undefined);
    assert.equal(parseConntrackLine('ipv4 2 tcp 6 10 ESTABLISHED src=fd00::1 dst=10.0.0.2 sport=1 dport=2'), undefined, 'v6 address on an ipv4 line');
    assert.equal(parseConntrackLine('ipv4 2 tcp 6 10 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=99999 dport=2')?.orig.sport, undefined);
  });

  it('fuzz: mangled captured lines and random text never throw, and every flow it returns is well formed', () => {
    const lines = CAPTURED.trim().split('\n');
    const alphabet = ' =.:abcdefipstvnrxyz0123456789[]_-\t';
    let produced = 0;
    for (let i = 0; i < 20_000; i++) {
      let line = lines[i % lines.length]!;
      const mode = i % 4;
      if (mode === 0) {
        const r = randomBytes(40);
        line = Array.from(r, (b) => alphabet[b % alphabet.length]).join('');
      } else if (mode === 1) {
        const at = randomBytes(2).readUInt16BE(0) % line.length;
        line = line.slice(0, at) + line.slice(at + 1 + (i % 5));
      } else if (mode === 2) {
        const tokens = line.split(' ');
        const a = i % tokens.length;
        const b = (i * 7) % tokens.length;
        [tokens[a], tokens[b]] = [tokens[b]!, tokens[a]!];
        line = tokens.join(' ');
      } else {
        line = line.replace(/=([0-9.:a-f]+)/, `=${randomBytes(6).toString('hex')}`);
      }
      const f = parseConntrackLine(line);
      if (!f) continue;
      produced++;
      assert.ok(f.family === 4 || f.family === 6);
      for (const t of [f.orig, f.reply]) {
        if (!t) continue;
        assert.equal(isIP(t.src), f.family, line);
        assert.equal(isIP(t.dst), f.family, line);
        for (const p of [t.sport, t.dport]) if (p !== undefined) assert.ok(Number.isInteger(p) && p >= 0 && p <= 65535, line);
      }
      assert.ok(Number.isInteger(f.mark) && f.mark >= 0 && f.mark <= 0xffffffff);
    }
    assert.ok(produced > 1000, `the fuzz kept some lines valid (${produced})`);
    assert.doesNotThrow(() => parseConntrack(randomBytes(100_000).toString('latin1')));
  });
});

const flow = (proto: 'tcp' | 'udp', src: string, dst: string, dport: number): TrackedFlow => ({ family: src.includes(':') ? 6 : 4, proto, orig: { src, dst, sport: 40000, dport }, mark: 0 });

describe('P2P behaviour heuristic', () => {
  const isClient = privateClient;

  it('flags a client reaching many hosts on high ports, some over TCP and UDP; says how many', () => {
    const flows = [
      ...Array.from({ length: 25 }, (_, i) => flow('tcp', '10.0.0.5', `198.51.100.${i + 1}`, 20000 + i)),
      ...Array.from({ length: 4 }, (_, i) => flow('udp', '10.0.0.5', `198.51.100.${i + 1}`, 20000 + i)),
    ];
    const [b] = analyseBehaviour(flows, { isClient });
    assert.deepEqual(b, { client: '10.0.0.5', peers: 25, tcpPeers: 25, udpPeers: 4, bothPeers: 4, flagged: true });
  });

  it('does not flag browsing (many hosts on 443 and 80, QUIC), nor many TCP-only peers, nor a few peers on both', () => {
    const web = Array.from({ length: 60 }, (_, i) => flow(i % 3 === 0 ? 'udp' : 'tcp', '10.0.0.6', `203.0.113.${i + 1}`, i % 2 ? 443 : 80));
    const tcpOnly = Array.from({ length: 40 }, (_, i) => flow('tcp', '10.0.0.7', `198.51.100.${i + 1}`, 30000 + i));
    const few = [0, 1, 2, 3, 4].flatMap((i) => [flow('tcp', '10.0.0.8', `198.51.100.${i + 1}`, 6881), flow('udp', '10.0.0.8', `198.51.100.${i + 1}`, 6881)]);
    const voip = Array.from({ length: 30 }, (_, i) => flow(i % 2 ? 'tcp' : 'udp', '10.0.0.9', `198.51.100.${(i % 15) + 1}`, 5060));
    const out = analyseBehaviour([...web, ...tcpOnly, ...few, ...voip], { isClient });
    assert.deepEqual(out.filter((b) => b.flagged), []);
    assert.equal(out.find((b) => b.client === '10.0.0.6'), undefined, 'web ports are not counted at all');
    assert.equal(out.find((b) => b.client === '10.0.0.9'), undefined, 'SIP is not counted');
    assert.equal(out.find((b) => b.client === '10.0.0.7')?.peers, 40);
  });

  it('counts only flows LAN clients started: inbound and the gateway\'s own are ignored; IPv6 clients count', () => {
    const flows = [
      ...Array.from({ length: 30 }, (_, i) => flow('tcp', `198.51.100.${i + 1}`, '10.0.0.5', 51413)),
      ...Array.from({ length: 30 }, (_, i) => flow('tcp', '192.0.2.2', `198.51.100.${i + 1}`, 20000 + i)),
      ...Array.from({ length: 30 }, (_, i) => flow(i < 5 ? 'udp' : 'tcp', 'fd77::10', `2001:db8:1::${i + 1}`, 20000 + i)),
      ...Array.from({ length: 5 }, (_, i) => flow('tcp', 'fd77::10', `2001:db8:1::${i + 1}`, 20000 + i)),
    ];
    const out = analyseBehaviour(flows, { isClient });
    assert.deepEqual(out.map((b) => [b.client, b.flagged]), [['fd77::10', true]]);
  });

  it('thresholds are the caller\'s', () => {
    const flows = [flow('tcp', '10.0.0.5', '198.51.100.1', 7000), flow('udp', '10.0.0.5', '198.51.100.1', 7000), flow('tcp', '10.0.0.5', '198.51.100.2', 7000)];
    assert.equal(analyseBehaviour(flows, { isClient, minPeers: 2, minBothPeers: 1 })[0]?.flagged, true);
    assert.equal(analyseBehaviour(flows, { isClient, minPeers: 3, minBothPeers: 1 })[0]?.flagged, false);
  });
});
