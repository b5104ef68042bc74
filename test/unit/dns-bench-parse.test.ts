/**
 * The DNS benchmark's pure parts: what it reads from dnsperf and /proc, the name space it queries, and the
 * decisions it imports. A misread here would print a wrong figure with a straight face.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePerf, perfArgs, quantile } from '../../bench/lib/dnsperf.js';
import { parseStat } from '../../bench/lib/dns-proc.js';
import { blockedNames, freshNames, hotNames, sample } from '../../bench/lib/dns-names.js';
import { parseDnsArgs, DNS_DEFAULTS } from '../../bench/lib/dns-options.js';
import { decisionLines } from '../../bench/lib/dns-ipcheck.js';
import { aQuery } from '../../bench/lib/dns-probe.js';
import dnsPacket from 'dns-packet';

const DNSPERF_OUT = `DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.1 -p 5300 -d q.txt -Q 2000 -c 4 -q 500 -v -l 1 -n 1
[Status] Sending queries (to 127.0.0.1:5300)
> NOERROR n1.ok-new.bench A 0.000206
> NXDOMAIN ab-1.cd.bench A 0.000112
> NOERROR n3.ok-new.bench A 0.000097
[Timeout] Query timed out: msg id 17
[Status] Testing complete (time limit)

Statistics:

  Queries sent:         2000
  Queries completed:    1999 (99.95%)
  Queries lost:         1 (0.05%)

  Response codes:       NOERROR 1998 (99.95%), NXDOMAIN 1 (0.05%)
  Average packet size:  request 35, response 84
  Run time (s):         1.000176
  Queries per second:   1998.648062

  Average Latency (s):  0.000034 (min 0.000014, max 0.000232)
`;

test('dnsperf output: totals, response codes and per-query latencies in ms', () => {
  const r = parsePerf(DNSPERF_OUT);
  assert.equal(r.sent, 2000);
  assert.equal(r.completed, 1999);
  assert.equal(r.lost, 1);
  assert.equal(r.qps, 1998.648062);
  assert.equal(r.runSeconds, 1.000176);
  assert.deepEqual(r.rcodes, { NOERROR: 1998, NXDOMAIN: 1 });
  assert.deepEqual(r.latenciesMs.map((x) => Math.round(x * 1000)), [206, 112, 97]);
});

test('dnsperf output without statistics (it failed) is an error naming what is missing, not a zero', () => {
  assert.throws(() => parsePerf('DNS Performance Testing Tool\nError: could not open q.txt\n'), /Queries sent/);
});

test('dnsperf arguments: max mode goes through the file once only when asked; rate mode sets -Q and -v', () => {
  const base = { server: '127.0.0.1', port: 5353, file: 'q', seconds: 5, clients: 4, outstanding: 32 };
  assert.deepEqual(perfArgs(base), ['-s', '127.0.0.1', '-p', '5353', '-d', 'q', '-l', '5', '-c', '4', '-q', '32']);
  assert.deepEqual(perfArgs({ ...base, once: true }).slice(-2), ['-n', '1']);
  assert.deepEqual(perfArgs({ ...base, rate: 2000, verbose: true }).slice(-3), ['-Q', '2000', '-v']);
});

test('quantile: nearest rank, on unsorted input', () => {
  const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(quantile(xs, 0.5), 5);
  assert.equal(quantile(xs, 0.99), 10);
  assert.equal(quantile(xs, 1), 10);
  assert.equal(quantile(xs, 0), 1);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('/proc/PID/stat: a command name with spaces and parentheses does not shift the fields', () => {
  // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
  const s = parseStat(42, '42 (node (worker) 1) S 7 42 42 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 11 0 1000 0 0');
  assert.deepEqual(s, { pid: 42, ppid: 7, ticks: 281 });
});

test('names: blocked names are unique 3-label names under bench., never under the allowed zones', () => {
  const names = blockedNames(50_000);
  assert.equal(new Set(names).size, names.length);
  for (const n of names) {
    assert.match(n, /^[a-z]+-[0-9a-z]+\.[a-z]+\.bench$/);
    assert.doesNotMatch(n, /(^|\.)(ok-hot|ok-new|ip-bad)\.bench$/);
  }
  const mean = names.reduce((a, n) => a + n.length, 0) / names.length;
  assert.ok(mean > 15 && mean < 30, `mean length ${mean}`);
  assert.deepEqual(blockedNames(3), blockedNames(3), 'the same list every run');
  assert.deepEqual(hotNames(2), ['h0.ok-hot.bench', 'h1.ok-hot.bench']);
  assert.deepEqual(freshNames('ok-new.bench', 35, 2), ['nz.ok-new.bench', 'n10.ok-new.bench']);
  assert.ok(sample(names, 1000).every((n) => names.includes(n)));
});

test('the probe query is a valid DNS question', () => {
  const p = dnsPacket.decode(aQuery('ab-1.cd.bench', 0x1234));
  assert.equal(p.id, 0x1234);
  assert.deepEqual(p.questions, [{ name: 'ab-1.cd.bench', type: 'A', class: 'IN' }]);
});

test('decisions to import: the requested counts of addresses and /24 ranges, the bad answer covered, the good one not', () => {
  const lines = decisionLines(20_000, 2_000).trim().split('\n');
  assert.equal(lines.length, 20_000);
  assert.equal(new Set(lines).size, 20_000);
  const ranges = lines.filter((l) => l.endsWith('/24'));
  assert.equal(ranges.length, 2_000);
  assert.ok(ranges.includes('198.51.100.0/24'));
  assert.ok(!lines.some((l) => l.startsWith('192.0.2.')));
});

test('flags: --quick shrinks everything, later flags win, unknown ones are refused', () => {
  const q = parseDnsArgs(['--quick', '--dur', '1']);
  assert.equal(q.size, 100_000);
  assert.equal(q.repeat, 1);
  assert.equal(q.dur, 1);
  assert.deepEqual(parseDnsArgs(['--servers', 'dnsdist,gatehouse']).servers.map((s) => s.name), ['dnsdist', 'gatehouse']);
  assert.equal(parseDnsArgs([]).size, DNS_DEFAULTS.size);
  assert.throws(() => parseDnsArgs(['--servers', 'bind9']), /unknown server "bind9"/);
  assert.throws(() => parseDnsArgs(['--size', '-3']), /positive whole number/);
  assert.throws(() => parseDnsArgs(['--frobnicate']), /unknown flag/);
  assert.throws(() => parseDnsArgs(['--decisions', '10', '--ranges', '20']), /--ranges must be smaller/);
});
