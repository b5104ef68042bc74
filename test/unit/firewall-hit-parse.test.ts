import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHitSet } from '../../src/firewall/hit-parse.js';

/** `nft -j list set inet gatehouse hit_out4` as nft 1.0.6 prints it (research/gateway.md §D.2). */
const NFT_106 = `{"nftables":[{"metainfo":{"version":"1.0.6","release_name":"Lester Gooch #5","json_schema_version":1}},
{"set":{"family":"inet","name":"hit_out4","table":"gatehouse","type":["ipv4_addr","ipv4_addr","inet_proto","inet_service"],
"handle":7,"size":65536,"flags":["timeout"],"timeout":3600,"elem":[
{"elem":{"val":{"concat":["10.0.0.1","203.0.113.5","tcp",80]},"expires":3599,"counter":{"packets":1,"bytes":60}}},
{"elem":{"val":{"concat":["10.0.0.2","203.0.113.6","udp",53]},"expires":1200,"counter":{"packets":7,"bytes":512}}},
{"elem":{"val":{"concat":["10.0.0.3","203.0.113.7","icmp",0]},"expires":10,"counter":{"packets":3,"bytes":252}}},
{"elem":{"val":{"concat":["10.0.0.4","203.0.113.8",47,0]},"expires":5,"counter":{"packets":2,"bytes":100}}}
]}}]}`;

describe('parseHitSet', () => {
  it('reads client, remote, protocol, port, counters and expiry from nft 1.0.6 JSON', () => {
    assert.deepEqual(parseHitSet(JSON.parse(NFT_106)), [
      { client: '10.0.0.1', remote: '203.0.113.5', protocol: 'tcp', port: 80, packets: 1, bytes: 60, expiresSec: 3599 },
      { client: '10.0.0.2', remote: '203.0.113.6', protocol: 'udp', port: 53, packets: 7, bytes: 512, expiresSec: 1200 },
      { client: '10.0.0.3', remote: '203.0.113.7', protocol: 'icmp', port: 0, packets: 3, bytes: 252, expiresSec: 10 },
      // A protocol nft has no name for is printed as its number.
      { client: '10.0.0.4', remote: '203.0.113.8', protocol: '47', port: 0, packets: 2, bytes: 100, expiresSec: 5 },
    ]);
  });

  it('reads IPv6 elements', () => {
    const json = {
      nftables: [
        { metainfo: { version: '1.0.6' } },
        {
          set: {
            family: 'inet',
            name: 'hit_in6',
            table: 'gatehouse',
            elem: [{ elem: { val: { concat: ['2001:db8::10', '2001:db8:ffff::1', 'tcp', 22] }, expires: 60, counter: { packets: 4, bytes: 320 } } }],
          },
        },
      ],
    };
    assert.deepEqual(parseHitSet(json), [
      { client: '2001:db8::10', remote: '2001:db8:ffff::1', protocol: 'tcp', port: 22, packets: 4, bytes: 320, expiresSec: 60 },
    ]);
  });

  it('returns nothing for an empty set (nft omits "elem")', () => {
    assert.deepEqual(parseHitSet({ nftables: [{ metainfo: {} }, { set: { name: 'hit_out4', table: 'gatehouse' } }] }), []);
  });

  it('skips elements without a counter-bearing concat, keeps the good ones', () => {
    const json = {
      nftables: [
        {
          set: {
            elem: [
              '10.0.0.9',
              { elem: { val: '10.0.0.9', expires: 5 } },
              { elem: { val: { concat: [1, 2, 'tcp', 80] } } },
              { elem: { val: { concat: ['10.0.0.1', '203.0.113.5', 'tcp', 443] } } },
              null,
              { elem: null },
            ],
          },
        },
      ],
    };
    // No counter or expiry printed: zeros rather than NaN or a throw.
    assert.deepEqual(parseHitSet(json), [{ client: '10.0.0.1', remote: '203.0.113.5', protocol: 'tcp', port: 443, packets: 0, bytes: 0, expiresSec: 0 }]);
  });

  for (const [what, input] of [
    ['undefined', undefined],
    ['null', null],
    ['a string', '{"nftables":[]}'],
    ['a number', 42],
    ['an array', [{ set: { elem: [] } }]],
    ['nftables not an array', { nftables: { set: {} } }],
    ['a set without elements', { nftables: [{ set: { elem: 'x' } }] }],
    ['an error object', { error: 'No such file or directory' }],
  ] as const) {
    it(`returns [] for garbage: ${what}`, () => {
      assert.deepEqual(parseHitSet(input), []);
    });
  }

  it('never throws on randomly mangled nft output', () => {
    const seed = Date.now() % 100_000;
    let s = seed;
    const rand = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s >>> 8) % n;
    };
    const junk = [null, 0, -1, 'x', [], {}, true, { concat: [] }, { concat: ['a'] }];
    const base = JSON.parse(NFT_106) as unknown;
    for (let i = 0; i < 500; i++) {
      const copy = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
      // Replace one random node of the tree with junk.
      const nodes: [Record<string, unknown> | unknown[], string | number][] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach((c, k) => (nodes.push([v, k]), walk(c)));
        else if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) (nodes.push([v as Record<string, unknown>, k]), walk(c));
      };
      walk(copy);
      const [parent, key] = nodes[rand(nodes.length)]!;
      (parent as Record<string | number, unknown>)[key] = junk[rand(junk.length)];
      const out = parseHitSet(copy);
      assert.ok(out.length <= 4, `seed ${seed}`);
      for (const h of out) {
        assert.equal(typeof h.client, 'string', `seed ${seed}`);
        assert.ok(Number.isFinite(h.packets) && Number.isFinite(h.bytes) && Number.isFinite(h.port), `seed ${seed}`);
      }
    }
  });
});
