import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { checkUpstreamSpec, forwardDomainField, normalizeDomain, parseUpstreamSpec, upstreamField, UpstreamSpecError } from '../../src/dns/index.js';
import { answersQuestion, questionEnd } from '../../src/dns/upstream/wire.js';

const err = (s: string): string => {
  const m = checkUpstreamSpec(s);
  assert.ok(m !== undefined, `"${s}" should be refused`);
  return m;
};

describe('upstream specs', () => {
  it('reads plain DNS upstreams with default and explicit ports, v4 and v6', () => {
    assert.deepEqual(parseUpstreamSpec('9.9.9.9'), { protocol: 'udp', host: '9.9.9.9', port: 53, text: '9.9.9.9:53' });
    assert.equal(parseUpstreamSpec('127.0.0.1:5300').port, 5300);
    assert.equal(parseUpstreamSpec('udp://1.1.1.1').text, '1.1.1.1:53');
    assert.deepEqual(parseUpstreamSpec('[2001:db8::53]:5353'), { protocol: 'udp', host: '2001:db8::53', port: 5353, text: '[2001:db8::53]:5353' });
    assert.equal(parseUpstreamSpec('2001:db8::53').text, '[2001:db8::53]:53');
    assert.equal(parseUpstreamSpec('[::1]').text, '[::1]:53');
    assert.equal(parseUpstreamSpec(' 9.9.9.9 ').text, '9.9.9.9:53');
  });

  it('reads tcp://, tls:// and https:// with their defaults', () => {
    assert.equal(parseUpstreamSpec('tcp://9.9.9.9').text, 'tcp://9.9.9.9:53');
    const dot = parseUpstreamSpec('tls://DNS.Quad9.net');
    assert.deepEqual(dot, { protocol: 'tls', host: 'dns.quad9.net', port: 853, tlsName: 'dns.quad9.net', text: 'tls://dns.quad9.net:853' });
    const pinned = parseUpstreamSpec('tls://9.9.9.9:8853#dns.quad9.net');
    assert.equal(pinned.host, '9.9.9.9');
    assert.equal(pinned.tlsName, 'dns.quad9.net');
    assert.equal(pinned.text, 'tls://9.9.9.9:8853#dns.quad9.net');
    assert.equal(parseUpstreamSpec('tls://1.1.1.1').tlsName, undefined); // certificate checked against the IP
    const doh = parseUpstreamSpec('https://dns.example/dns-query');
    assert.deepEqual(doh, { protocol: 'https', host: 'dns.example', port: 443, tlsName: 'dns.example', path: '/dns-query', method: 'POST', text: 'https://dns.example:443/dns-query' });
    assert.equal(parseUpstreamSpec('https://dns.example').path, '/dns-query');
    const get = parseUpstreamSpec('https://127.0.0.1:8443/q{?dns}#doh.u3.test');
    assert.equal(get.method, 'GET');
    assert.equal(get.path, '/q');
    assert.equal(get.tlsName, 'doh.u3.test');
    assert.equal(get.text, 'https://127.0.0.1:8443/q{?dns}#doh.u3.test');
  });

  it('canonical text makes duplicates equal and parses back to itself', () => {
    for (const s of ['9.9.9.9', '[::1]:53', 'tcp://10.0.0.1', 'tls://a.example:853', 'tls://10.0.0.1#a.example', 'https://a.example/x{?dns}', 'https://[2001:db8::1]/dns-query#a.example']) {
      const t = parseUpstreamSpec(s).text;
      assert.equal(parseUpstreamSpec(t).text, t, s);
    }
  });

  it('refuses bad specs with a message that says what is wrong', () => {
    assert.match(err('dns.google'), /plain DNS upstreams need an IP address/);
    assert.match(err('tcp://dns.google'), /need an IP address/);
    assert.match(err('9.9.9.9:0'), /port must be 1-65535/);
    assert.match(err('9.9.9.9:70000'), /port must be 1-65535/);
    assert.match(err('9.9.9.9:x'), /port must be a number/);
    assert.match(err('2001:db8::1:53:x'), /not an IP address|\[address\]:port/);
    assert.match(err('[2001:db8::1:53'), /missing "\]"/);
    assert.match(err('[1.2.3.4]:53'), /not an IPv6 address/);
    assert.match(err('http://dns.example/dns-query'), /plain http/);
    assert.match(err('quic://dns.example'), /unknown scheme/);
    assert.match(err('9.9.9.9/dns-query'), /path only applies to https/);
    assert.match(err('9.9.9.9#dns.quad9.net'), /only applies to tls/);
    assert.match(err('tls://dns.example#other.example'), /"#name" is for an IP address/);
    assert.match(err('https://dns.example/q?dns=x'), /query string/);
    assert.match(err('tls://user@dns.example'), /user names/);
    assert.match(err('999.1.1.1'), /not an IP address/);
    assert.match(err('tls://bad_host!'), /neither an IP address nor a host name/);
    assert.match(err(''), /empty/);
    assert.match(err('9.9.9.9 8.8.8.8'), /white space/);
    assert.match(err('x'.repeat(600)), /longer than 512/);
  });

  it('the zod fields canonicalise and report the parser message', () => {
    const schema = z.object({ upstreams: z.array(upstreamField()), domain: forwardDomainField() });
    assert.deepEqual(schema.parse({ upstreams: ['9.9.9.9', 'tls://1.1.1.1'], domain: 'LAN.' }), { upstreams: ['9.9.9.9:53', 'tls://1.1.1.1:853'], domain: 'lan' });
    const r = schema.safeParse({ upstreams: ['dns.google'], domain: 'not a domain' });
    assert.equal(r.success, false);
    const msgs = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(msgs.some((m) => m.startsWith('upstreams.0: upstream "dns.google": plain DNS upstreams need an IP address')), msgs.join('\n'));
    assert.ok(msgs.some((m) => m.startsWith('domain: "not a domain" is not a domain name')), msgs.join('\n'));
  });

  it('forward domains: case, trailing dot, "*." and reverse zones', () => {
    assert.equal(normalizeDomain('Home.Arpa.'), 'home.arpa');
    assert.equal(normalizeDomain('*.lan'), 'lan');
    assert.equal(normalizeDomain('168.192.in-addr.arpa'), '168.192.in-addr.arpa');
    assert.equal(normalizeDomain(''), undefined);
    assert.equal(normalizeDomain('a..b'), undefined);
    assert.equal(normalizeDomain('-bad.lan'), undefined);
  });

  it('fuzz: random and mutated specs either parse to a re-parsable spec or raise UpstreamSpecError', () => {
    const seeds = ['9.9.9.9', '[2001:db8::1]:53', 'tls://dns.quad9.net#x', 'https://a.example:8443/dns-query{?dns}', 'tcp://10.0.0.1:53'];
    const alphabet = '0123456789abcdef.:[]/#@?{}%-_ \tx';
    for (let i = 0; i < 20000; i++) {
      let s: string;
      if (i % 3 === 0) s = randomBytes(1 + (i % 40)).toString('latin1');
      else {
        const chars = [...seeds[i % seeds.length]!];
        for (let k = 0; k < 1 + (i % 4); k++) chars[Math.floor(Math.random() * (chars.length + 1))] = alphabet[Math.floor(Math.random() * alphabet.length)]!;
        s = chars.join('');
      }
      try {
        const spec = parseUpstreamSpec(s);
        assert.equal(parseUpstreamSpec(spec.text).text, spec.text, JSON.stringify(s));
        assert.ok(spec.port >= 1 && spec.port <= 65535);
      } catch (e) {
        assert.ok(e instanceof UpstreamSpecError, `${JSON.stringify(s)} threw ${String(e)}`);
      }
    }
  });
});

describe('question matching (anti-spoofing)', () => {
  // id 0x1234, RD, one question example.COM A IN
  const q = Buffer.from('123401000001000000000000076578616d706c6503434f4d0000010001', 'hex');
  it('finds the end of the question and refuses malformed ones', () => {
    assert.equal(questionEnd(q), q.length);
    assert.equal(questionEnd(q.subarray(0, q.length - 1)), -1);
    const two = Buffer.from(q);
    two[5] = 2;
    assert.equal(questionEnd(two), -1);
    const ptr = Buffer.from(q);
    ptr[12] = 0xc0;
    assert.equal(questionEnd(ptr), -1);
  });
  it('accepts the same question in other case, refuses another name/type or a query', () => {
    const reply = Buffer.from(q);
    reply[2] = 0x81;
    reply[13] = 0x45; // 'E'
    reply[21] = 0x63; // 'c'
    assert.equal(answersQuestion(q, questionEnd(q), reply), true);
    const otherType = Buffer.from(reply);
    otherType[otherType.length - 3] = 28;
    assert.equal(answersQuestion(q, questionEnd(q), otherType), false);
    const otherName = Buffer.from(reply);
    otherName[14] = 0x79;
    assert.equal(answersQuestion(q, questionEnd(q), otherName), false);
    assert.equal(answersQuestion(q, questionEnd(q), q), false); // QR=0
    assert.equal(answersQuestion(q, questionEnd(q), reply.subarray(0, 20)), false);
  });
  it('fuzz: random bytes as query or answer never throw and never match a real question', () => {
    const qEnd = questionEnd(q);
    for (let i = 0; i < 20000; i++) {
      const b = randomBytes(i % 80);
      const e = questionEnd(b);
      assert.ok(e === -1 || (e >= 17 && e <= b.length), `questionEnd ${e} for ${b.toString('hex')}`);
      if (b.length >= 12) {
        b[4] = 0;
        b[5] = 1;
        b[2] = b[2]! | 0x80;
      }
      assert.equal(answersQuestion(q, qEnd, b), false, b.toString('hex'));
    }
  });
});
