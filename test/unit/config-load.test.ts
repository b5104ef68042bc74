import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, defaultConfigPath, formatProblem, type ConfigProblem } from '../../src/config/index.js';
import { checkConfig, configFromObject, loadConfig, type GatehouseConfig } from '../../src/daemon/index.js';
import type { FeedConfig } from '../../src/feeds/index.js';
import { configFiles } from './helpers/config-files.js';

const { dir, write } = configFiles('gatehouse-config-');

function problemAt(problems: ConfigProblem[], path: string): ConfigProblem {
  const p = problems.find((x) => x.path === path);
  assert.ok(p, `no problem at ${path}; got:\n${problems.map(formatProblem).join('\n')}`);
  return p;
}

const BASE = `
interfaces:
  lan: [eth1]
  wan: [eth0]
`;

const EXAMPLE = new URL('../../examples/gatehouse.yaml', import.meta.url).pathname;

describe('loading a good config', () => {
  it('fills in defaults, with durations in ms and paths absolute', () => {
    const c = loadConfig(write(BASE));
    assert.equal(c.data_dir, '/var/lib/gatehouse');
    assert.equal(c.log_level, 'info');
    assert.equal(c.api.socket, '/var/lib/gatehouse/api.sock');
    assert.equal(c.api.listen, undefined);
    assert.deepEqual(c.interfaces, { lan: ['eth1'], wan: ['eth0'] });
    assert.deepEqual(c.firewall, {
      inbound: 'enforce',
      outbound: 'enforce',
      table: 'gatehouse',
      hit_poll_interval: 2_000,
      block_event_retention: 30 * 86_400_000,
      expire_interval: 10_000,
    });
    assert.deepEqual(c.clients, { names: [] });
    assert.deepEqual(c.feeds, []);
    assert.equal(c.lapi, undefined);
    assert.equal(c.mirror, undefined);
  });

  it('gives list feeds refresh 1h and duration 2× refresh, crowdsec feeds a 10s poll', () => {
    const c = loadConfig(
      write(`${BASE}
feeds:
  - { name: a, type: url, url: "https://lists.example/a.txt" }
  - { name: b, type: file, path: lists/b.txt, refresh: 30m }
  - { name: cs, type: crowdsec, url: "http://127.0.0.1:8080/", api_key: k }
`),
    );
    const [a, b, cs] = c.feeds;
    assert.ok(a?.type === 'url' && b?.type === 'file' && cs?.type === 'crowdsec');
    assert.deepEqual(
      { refresh: a.refresh, duration: a.duration, format: a.format, direction: a.direction, min_score: a.min_score, timeout: a.timeout, max_shrink: a.max_shrink },
      { refresh: 3_600_000, duration: 7_200_000, format: 'plain', direction: 'both', min_score: 1, timeout: 30_000, max_shrink: 0.5 },
    );
    assert.equal(b.refresh, 1_800_000);
    assert.equal(b.duration, 3_600_000);
    assert.equal(b.path, join(dir, 'lists/b.txt'));
    assert.equal(cs.refresh, 10_000);
    assert.equal(cs.duration, undefined, 'crowdsec decisions keep the LAPI duration unless one is configured');
    assert.equal(cs.format, 'crowdsec');
    assert.deepEqual(cs.scopes, ['ip', 'range']);
    assert.equal(cs.api_key, 'k');
  });

  it('resolves relative paths against the config file folder', () => {
    const c = loadConfig(write(`${BASE}data_dir: ./state\nclients:\n  dhcp_leases: leases\n`));
    assert.equal(c.data_dir, join(dir, 'state'));
    assert.equal(c.api.socket, join(dir, 'state', 'api.sock'));
    assert.equal(c.clients.dhcp_leases, join(dir, 'leases'));
  });

  it('loads every section and normalises MACs, hashes and CIDRs', () => {
    const token = 'AB'.repeat(32);
    const c = loadConfig(
      write(`
data_dir: /srv/gh
log_level: debug
api:
  listen: "[::1]:8080"
  token_sha256: ${token}
interfaces: { lan: [eth1, wlan0], wan: [eth0] }
firewall: { inbound: monitor, outbound: off, table: gh_test }
clients:
  names: [{ mac: "AA-BB-CC-DD-EE-FF", name: alice-laptop }]
feeds:
  - name: cs
    type: crowdsec
    url: http://127.0.0.1:8080/
    api_key: secret
    scopes: [ip]
    origins: [crowdsec, cscli]
    scenarios_not_containing: [http-probing]
    duration: 1h
lapi:
  trusted_ips: [10.1.2.3/8]
mirror:
  endpoints:
    - path: /security/blocklist
      auth: basic
      users: [{ user: fw, password_sha256: "${'0'.repeat(64)}" }]
    - { path: /mikrotik, format: mikrotik, auth: ip_based, trusted_ips: ["2001:db8::1"] }
`),
    );
    assert.equal(c.api.listen, '[::1]:8080');
    assert.equal(c.api.token_sha256, token.toLowerCase());
    assert.equal(c.api.socket, '/srv/gh/api.sock');
    assert.deepEqual(c.clients.names, [{ mac: 'aa:bb:cc:dd:ee:ff', name: 'alice-laptop' }]);
    assert.equal(c.firewall.outbound, 'off');
    const cs = c.feeds[0];
    assert.ok(cs?.type === 'crowdsec');
    assert.deepEqual(cs.origins, ['crowdsec', 'cscli']);
    assert.equal(cs.duration, 3_600_000);
    assert.deepEqual(c.lapi, { listen: '127.0.0.1:8081', trusted_ips: ['10.0.0.0/8'], profile: { duration: 4 * 3_600_000, direction: 'inbound' } });
    assert.equal(c.mirror?.listen, '127.0.0.1:41412');
    assert.equal(c.mirror?.endpoints[0]?.format, 'plain_text');
    assert.deepEqual(c.mirror?.endpoints[1]?.trusted_ips, ['2001:db8::1']);
  });

  it('accepts the shipped example for a real router', () => {
    assert.deepEqual(checkConfig(EXAMPLE).map(formatProblem), []);
    const c = loadConfig(EXAMPLE);
    assert.deepEqual(c.interfaces, { lan: ['eth1'], wan: ['eth0'] });
    assert.ok(c.feeds.length >= 2);
  });

  it('runs without interfaces only when the firewall is off in both directions', () => {
    const c = loadConfig(write('firewall: { inbound: off, outbound: off }\n'));
    assert.deepEqual(c.interfaces, { lan: [], wan: [] });
    const problems = checkConfig(write('firewall: { inbound: monitor, outbound: off }\n'));
    assert.match(problemAt(problems, 'interfaces.wan').message, /at least one WAN interface/);
    assert.equal(problemAt(problems, 'interfaces.wan').line, 1);
  });
});

describe('config check: each mistake is reported at its line and key path', () => {
  it('broken YAML gives a syntax problem with line and column', () => {
    const problems = checkConfig(write(`${BASE}firewall:\n  inbound: [enforce\n  outbound: off\n`));
    assert.ok(problems.length >= 1);
    assert.equal(problems[0]!.path, '');
    assert.match(problems[0]!.message, /^YAML syntax: /);
    assert.ok(problems[0]!.line >= 5 && problems[0]!.line <= 7, formatProblem(problems[0]!));
    assert.ok(problems[0]!.column >= 1);
  });

  it('a key given twice is a syntax problem on the second one', () => {
    const [p] = checkConfig(write(`${BASE}log_level: info\nlog_level: debug\n`));
    assert.equal(p?.line, 5);
    assert.match(p?.message ?? '', /unique/);
  });

  it('an unknown key is an error with a suggestion, at the key', () => {
    const problems = checkConfig(
      write(`
interfaces:
  lan: [eth1]
  wan: [eth0]
firewall:
  inbound: enforce
  tabel: gatehouse
`),
    );
    const p = problemAt(problems, 'firewall.tabel');
    assert.deepEqual([p.line, p.column], [6, 3]);
    assert.match(p.message, /unknown key; did you mean "table"\?/);
  });

  it('an unknown key with no close match lists the keys allowed there', () => {
    const p = problemAt(checkConfig(write(`${BASE}colour: blue\n`)), 'colour');
    assert.equal(p.line, 4);
    assert.match(p.message, /allowed here: data_dir, log_level, api, interfaces, firewall/);
  });

  it('an unknown key inside a feed names the feed index', () => {
    const p = problemAt(checkConfig(write(`${BASE}feeds:\n  - name: a\n    type: url\n    url: http://x.example/\n    refesh: 1h\n`)), 'feeds[0].refesh');
    assert.equal(p.line, 8);
    assert.match(p.message, /did you mean "refresh"/);
  });

  it('a bad enum value names the allowed values and what was written', () => {
    const p = problemAt(checkConfig(write(`${BASE}firewall:\n  outbound: enfroce\n`)), 'firewall.outbound');
    assert.deepEqual([p.line, p.column], [5, 3]);
    assert.equal(p.message, 'expected one of enforce, monitor, off; got "enfroce"');
  });

  it('a bad interface name points at the list item', () => {
    const p = problemAt(checkConfig(write(`interfaces:\n  lan: [eth1, "br lan"]\n  wan: [eth0]\n`)), 'interfaces.lan[1]');
    assert.deepEqual([p.line, p.column], [2, 15]);
    assert.match(p.message, /not a Linux interface name/);
    const long = problemAt(checkConfig(write(`interfaces:\n  lan: [eth1]\n  wan:\n    - averyveryverylongname0\n`)), 'interfaces.wan[0]');
    assert.equal(long.line, 4);
  });

  it('the same interface on both sides is refused', () => {
    const p = problemAt(checkConfig(write(`interfaces:\n  lan: [eth1]\n  wan: [eth0, eth1]\n`)), 'interfaces.wan[1]');
    assert.equal(p.line, 3);
    assert.match(p.message, /both lan and wan/);
  });

  it('api.listen without token_sha256 is reported on the api key', () => {
    const problems = checkConfig(write(`${BASE}api:\n  listen: 0.0.0.0:8080\n`));
    const p = problemAt(problems, 'api.token_sha256');
    assert.deepEqual([p.line, p.column], [4, 1]);
    assert.match(p.message, /required when api.listen is set/);
  });

  it('bad listen addresses and hashes are explained', () => {
    const problems = checkConfig(write(`${BASE}api:\n  listen: ::1:8080\n  token_sha256: abc\nlapi:\n  listen: 127.0.0.1:70000\n`));
    assert.match(problemAt(problems, 'api.listen').message, /ADDRESS:PORT/);
    assert.match(problemAt(problems, 'api.token_sha256').message, /64 hex digits/);
    assert.match(problemAt(problems, 'lapi.listen').message, /out of range/);
  });

  it('two servers on the same address are refused', () => {
    const p = problemAt(checkConfig(write(`${BASE}lapi: { listen: "127.0.0.1:9000" }\nmirror:\n  listen: localhost:9000\n  endpoints: [{ path: /b }]\n`)), 'mirror.listen');
    assert.equal(p.line, 6);
    assert.match(p.message, /same address as lapi.listen/);
  });

  it('a duplicate feed name is reported at the second name, naming the first', () => {
    const problems = checkConfig(
      write(`${BASE}feeds:
  - name: spamhaus
    type: url
    url: https://www.spamhaus.org/drop/drop.txt
    format: spamhaus_drop
  - name: spamhaus
    type: file
    path: /etc/gatehouse/drop.txt
`),
    );
    const p = problemAt(problems, 'feeds[1].name');
    assert.deepEqual([p.line, p.column], [9, 5]);
    assert.equal(p.message, 'feed name "spamhaus" is already used by feeds[0]');
  });

  it('a bad duration and a duration without unit are reported at their keys', () => {
    const problems = checkConfig(write(`${BASE}firewall:\n  hit_poll_interval: 2 seconds\n  expire_interval: 10\n  block_event_retention: -1d\n`));
    assert.equal(problemAt(problems, 'firewall.hit_poll_interval').line, 5);
    assert.match(problemAt(problems, 'firewall.hit_poll_interval').message, /not a duration: "2 seconds"/);
    assert.equal(problemAt(problems, 'firewall.expire_interval').line, 6);
    assert.match(problemAt(problems, 'firewall.expire_interval').message, /needs a unit: write "10s"/);
    assert.match(problemAt(problems, 'firewall.block_event_retention').message, /longer than zero/);
  });

  it('feed fields that depend on the type are required or refused', () => {
    const problems = checkConfig(
      write(`${BASE}feeds:
  - name: a
    type: url
  - name: b
    type: file
    url: http://x.example/
  - name: c
    type: crowdsec
    url: http://127.0.0.1:8080/
  - name: d
    type: url
    url: http://x.example/
    min_score: 3
    api_key: k
`),
    );
    assert.equal(problemAt(problems, 'feeds[0].url').line, 5, 'a missing key is reported at its feed');
    assert.match(problemAt(problems, 'feeds[0].url').message, /required for a url feed/);
    assert.match(problemAt(problems, 'feeds[1].path').message, /required for a file feed/);
    assert.match(problemAt(problems, 'feeds[1].url').message, /not used by a file feed/);
    assert.match(problemAt(problems, 'feeds[2].api_key').message, /required for a crowdsec feed/);
    assert.match(problemAt(problems, 'feeds[3].min_score').message, /unless format is ipsum/);
    assert.match(problemAt(problems, 'feeds[3].api_key').message, /only by type crowdsec/);
  });

  it('a missing required key is named', () => {
    const p = problemAt(checkConfig(write(`${BASE}feeds:\n  - type: url\n    url: http://x.example/\n`)), 'feeds[0].name');
    assert.equal(p.message, 'required key is missing');
    assert.equal(p.line, 5);
  });

  it('mirror endpoints need the credentials their auth uses', () => {
    const problems = checkConfig(write(`${BASE}mirror:\n  endpoints:\n    - path: /a\n      auth: basic\n    - path: b\n`));
    assert.match(problemAt(problems, 'mirror.endpoints[0].users').message, /required.*auth is basic/);
    assert.match(problemAt(problems, 'mirror.endpoints[1].path').message, /must start with \//);
  });

  it('a wrong type says what was expected and what was found', () => {
    const p = problemAt(checkConfig(write(`${BASE}feeds:\n  name: a\n`)), 'feeds');
    assert.equal(p.message, 'expected a list, got a mapping');
  });

  it('numbers out of range say the bound', () => {
    const problems = checkConfig(write(`${BASE}feeds:\n  - { name: a, type: url, url: "http://x.example/", max_shrink: 2, format: ipsum, min_score: 1.5 }\n`));
    assert.equal(problemAt(problems, 'feeds[0].max_shrink').message, 'must be at most 1, got number 2');
    assert.equal(problemAt(problems, 'feeds[0].min_score').message, 'expected a whole number, got number 1.5');
  });

  it('values of the wrong shape everywhere give problems, not a crash', () => {
    const problems = checkConfig(
      write(`api: 5
interfaces: { lan: 5, wan: eth0 }
clients: { names: [1, { mac: 5 }] }
feeds: [5, null, { type: url }, { name: x, type: 7 }]
mirror: { endpoints: [7, { path: /a, auth: basic, users: 3 }] }
lapi: { profile: { direction: sideways } }
`),
    );
    for (const path of ['api', 'interfaces.lan', 'interfaces.wan', 'clients.names[0]', 'clients.names[1].mac', 'feeds[0]', 'feeds[1]', 'feeds[2].name', 'feeds[3].type', 'mirror.endpoints[0]', 'mirror.endpoints[1].users', 'lapi.profile.direction']) {
      problemAt(problems, path);
    }
    for (const p of problems) assert.ok(p.line >= 1 && p.line <= 6, formatProblem(p));
  });

  it('an empty file or a non-mapping is explained', () => {
    // Issue #9: every module can be off; an empty file runs only the admin API. A firewall: section
    // without interfaces is still refused.
    assert.deepEqual(checkConfig(write('')).map(formatProblem), []);
    assert.match(problemAt(checkConfig(write('firewall: {}\n')), 'interfaces.wan').message, /at least one WAN/);
    assert.match(checkConfig(write('- a\n- b\n'))[0]?.message ?? '', /must be a mapping/);
  });

  it('an alias bomb is refused instead of expanded', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill('*' + String.fromCharCode(96 + i)).join(', ')}]`);
    const problems = checkConfig(write(bomb.join('\n') + '\n'));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /alias/i);
  });
});

describe('loadConfig errors', () => {
  it('throws ConfigError listing every problem as FILE:LINE:COL: path: message', () => {
    const file = write(`${BASE}firewall:\n  inbound: no\n  outbound: maybe\n`);
    assert.throws(
      () => loadConfig(file),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.problems.length, 2);
        assert.equal(
          e.message,
          [`${file}:5:3: firewall.inbound: expected one of enforce, monitor, off; got "no"`, `${file}:6:3: firewall.outbound: expected one of enforce, monitor, off; got "maybe"`].join('\n'),
        );
        return true;
      },
    );
  });

  it('a missing file is a clear error', () => {
    const file = join(dir, 'nope.yaml');
    assert.throws(() => loadConfig(file), { name: 'ConfigError', message: `${file}: cannot read config file: no such file` });
    assert.deepEqual(checkConfig(dir).map((p) => p.message), ['cannot read config file: it is a directory']);
  });

  it('configFromObject validates plain objects and names the source', () => {
    const c: GatehouseConfig = configFromObject({ interfaces: { lan: ['veth-lan'], wan: ['veth-wan'] }, data_dir: 'd' }, 'lab', '/tmp/lab');
    assert.equal(c.data_dir, '/tmp/lab/d');
    assert.throws(() => configFromObject({ firewall: { table: 'Bad-Name' }, interfaces: { lan: ['a'], wan: ['b'] } }, 'lab'), {
      message: /^lab: firewall\.table: nft table names/,
    });
  });

  it('defaultConfigPath honours GATEHOUSE_CONFIG', () => {
    assert.equal(defaultConfigPath({}), '/etc/gatehouse/gatehouse.yaml');
    assert.equal(defaultConfigPath({ GATEHOUSE_CONFIG: '/tmp/x.yaml' }), '/tmp/x.yaml');
  });
});

describe('config check fuzz', () => {
  it('never throws on mangled versions of the example and always gives a usable location', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const lineCount = text.split('\n').length;
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const junk = [':', '-', ' ', '\n', '[', '{', '"', '#', 'x', '0', '&a', '*a', '\t'];
    let withProblems = 0;
    for (let i = 0; i < 100; i++) {
      let t = text;
      for (let k = 0; k < 1 + rand(3); k++) {
        const at = rand(t.length);
        t = rand(2) === 0 ? t.slice(0, at) + junk[rand(junk.length)] + t.slice(at) : t.slice(0, at) + t.slice(at + 1 + rand(5));
      }
      const file = join(dir, 'fuzz.yaml');
      writeFileSync(file, t);
      const problems = checkConfig(file);
      if (problems.length > 0) withProblems++;
      for (const p of problems) {
        assert.ok(p.line >= 1 && p.line <= lineCount + 5 && p.column >= 1, formatProblem(p));
        assert.ok(p.message.length > 0);
      }
    }
    assert.ok(withProblems > 15, `only ${withProblems} of 100 mangled files had problems`);
  });
});

// Compile-time check that the feed union narrows: api_key exists only on crowdsec feeds.
export function feedKey(f: FeedConfig): string | undefined {
  return f.type === 'crowdsec' ? f.api_key : f.type === 'file' ? f.path : f.url;
}

// Compile-time check that defaults make these keys non-optional in the loaded type.
export function requiredAfterDefaults(c: GatehouseConfig): [string, number, string] {
  return [c.api.socket, c.firewall.hit_poll_interval, c.data_dir];
}
