import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ALWAYS, type SectionFields } from '../../src/config/index.js';
import { assignListIds, dnsListArray, groupMasks, problemKey, refineDnsLists } from '../../src/dns/index.js';

describe('dns groups → list masks', () => {
  const ids = assignListIds(
    [{ name: 'stevenblack' }, { name: 'phishing', category: 'security' }, { name: 'malware', category: 'security' }],
    [{ name: 'mine' }],
  );
  assert.ok(ids.ok);
  const lists = ids.lists;

  it('ids follow config order, blocklists first; category defaults to ads', () => {
    assert.deepEqual(lists.map((l) => [l.name, l.id, l.role, l.category]), [
      ['stevenblack', 0, 'block', 'ads'],
      ['phishing', 1, 'block', 'security'],
      ['malware', 2, 'block', 'security'],
      ['mine', 3, 'allow', 'ads'],
    ]);
  });

  it('default = every list; optout = security blocklists plus allowlists; configured groups = their blocklists plus allowlists', () => {
    const r = groupMasks(lists, [{ name: 'kids', blocklists: ['stevenblack', 'malware'] }]);
    assert.ok(r.ok);
    assert.equal(r.masks.get('default'), 0b1111);
    assert.equal(r.masks.get('optout'), 0b1110);
    assert.equal(r.masks.get('kids'), 0b1101);
  });

  it('a configured group may redefine a built-in one', () => {
    const r = groupMasks(lists, [{ name: 'default', blocklists: ['phishing'] }]);
    assert.ok(r.ok);
    assert.equal(r.masks.get('default'), 0b1010);
  });

  it('unknown list names, allowlists named as blocklists and repeated groups are config errors naming the key', () => {
    const r = groupMasks(lists, [
      { name: 'kids', blocklists: ['stevenblak'] },
      { name: 'guests', blocklists: ['phishing', 'mine'] },
      { name: 'kids', blocklists: [] },
    ]);
    assert.ok(!r.ok);
    assert.deepEqual(r.problems.map((p) => `${problemKey(p)}: ${p.message}`), [
      'dns.groups[0].blocklists[0]: no blocklist named "stevenblak" (blocklists: stevenblack, phishing, malware)',
      'dns.groups[1].blocklists[1]: "mine" is an allowlist; allowlists apply to every group, list only blocklists here',
      'dns.groups[2].name: group name "kids" is already used by groups[0]',
    ]);
  });
});

describe('dns list config', () => {
  const f: SectionFields = { path: () => z.string().min(1).transform((p) => resolve('/etc/gatehouse', p)) };
  const section = z
    .object({ blocklists: dnsListArray(f), allowlists: dnsListArray(f), groups: z.array(z.object({ name: z.string(), blocklists: z.array(z.string()) })).default([]) })
    .superRefine((v, ctx) => refineDnsLists(v, ctx), ALWAYS);
  const issues = (input: unknown): string[] => {
    const r = section.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('fills defaults: format hosts, refresh 24h, timeout 60s, max_shrink 0.5, category ads; paths resolve', () => {
    const r = section.parse({ blocklists: [{ name: 'sb', type: 'url', url: 'https://example.org/hosts' }], allowlists: [{ name: 'mine', type: 'file', path: 'allow.txt', format: 'domains' }] });
    assert.deepEqual(r.blocklists[0], { name: 'sb', type: 'url', url: 'https://example.org/hosts', format: 'hosts', refresh: 86_400_000, timeout: 60_000, max_shrink: 0.5, category: 'ads' });
    assert.equal(r.allowlists[0]?.type === 'file' && r.allowlists[0].path, '/etc/gatehouse/allow.txt');
  });

  it('reports each mistake at its key', () => {
    assert.deepEqual(
      issues({
        blocklists: [
          { name: 'sb', type: 'url', path: 'x', format: 'abp', category: 'Ads!' },
          { name: 'sb', type: 'file', path: 'y', refresh: 5 },
        ],
        allowlists: [{ name: 'a', type: 'ftp' }],
        groups: [{ name: 'kids', blocklists: ['nope'] }],
      }),
      [
        'blocklists.0.format: Invalid option: expected one of "hosts"|"domains"|"adblock"',
        'blocklists.0.category: a category is one word: a-z, 0-9, _ and -, e.g. ads or security',
        'blocklists.0.url: required for a url list',
        'blocklists.0.path: not used by a url list (path is for type file); remove it',
        'blocklists.1.refresh: a duration needs a unit: write "5s" for 5 seconds, or "5m", "5h", "5d"',
        'allowlists.0.type: Invalid option: expected one of "url"|"file"',
        'blocklists.1.name: list name "sb" is already used by blocklists[0]',
        'groups.0.blocklists.0: no blocklist named "nope" (blocklists: sb)',
      ],
    );
  });
});
