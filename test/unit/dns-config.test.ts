/**
 * The `dns:` section as an admin meets it: defaults, the example file's block, and mistakes reported with
 * FILE:LINE:COL and "did you mean" (what `gatehouse config check` prints).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatProblem } from '../../src/config/index.js';
import { checkConfig, loadConfig } from '../../src/daemon/index.js';
import { workerCount } from '../../src/dns/config.js';
import { configFiles, exampleBlock } from './helpers/config-files.js';

const { dir, write } = configFiles('r5-dns-config-');

const problems = (yaml: string) => checkConfig(write(yaml)).map(formatProblem);

describe('dns: section', () => {
  it('is off without the section, and fills in defaults with it', () => {
    assert.equal(loadConfig(write('lapi: { listen: 127.0.0.1:8081 }\n')).dns, undefined);
    const c = loadConfig(write('dns:\n  upstreams: [9.9.9.9]\n')).dns;
    assert.ok(c);
    assert.deepEqual(c.listen, ['127.0.0.1:53', '[::1]:53']);
    assert.deepEqual(c.upstreams, ['9.9.9.9:53']);
    assert.equal(c.block_answer, 'nxdomain');
    assert.equal(c.answer_check, 'enforce');
    assert.equal(c.block_ttl, 60_000);
    assert.equal(c.cache.max_ttl, 86_400_000);
    assert.deepEqual(c.query_log, { mode: 'full', retention: 7 * 86_400_000, max_rows: 1_000_000 });
    assert.equal(workerCount(c, 8), 4);
    assert.equal(workerCount(c, 1), 1);
  });

  it("the example file's dns block (uncommented) is valid", () => {
    const block = exampleBlock('dns');
    const file = write(`data_dir: ${dir}\n${block}\n`);
    const found = checkConfig(file).map(formatProblem);
    assert.deepEqual(found, []);
  });

  it('names the line and column of a mistake, with did-you-mean for a misspelt key', () => {
    const p = problems(`
dns:
  listen: [127.0.0.1:5353]
  upstream: [9.9.9.9]
  block_answer: refused
`);
    assert.ok(p.some((x) => /:3:3: dns\.upstream: unknown key.*did you mean "upstreams"/.test(x)), p.join('\n'));
    assert.ok(p.some((x) => /:4:3: dns\.block_answer: expected one of nxdomain, null_ip; got "refused"/.test(x)), p.join('\n'));
  });

  it('refuses a bad listen address, a duplicate one, a bad upstream and a group naming an unknown list', () => {
    const p = problems(`
dns:
  listen: [127.0.0.1:53, 127.0.0.1:53, "::1:53"]
  upstreams: ["udp://[::1"]
  blocklists:
    - { name: ads, type: file, path: ads.txt }
  groups:
    - { name: kids, clients: [10.0.0.5], blocklists: [adz] }
`);
    const all = p.join('\n');
    assert.match(all, /:2:26: dns\.listen\[1\]: listen address "127\.0\.0\.1:53" is already used by dns\.listen\[0\]/);
    assert.match(all, /:2:40: dns\.listen\[2\]: expected ADDRESS:PORT/);
    assert.match(all, /:3:15: dns\.upstreams\[0\]: upstream "udp:\/\/\[::1": missing "\]"/);
    assert.match(all, /:7:55: dns\.groups\[0\]\.blocklists\[0\]: no blocklist named "adz" \(blocklists: ads\)/);
  });

  it('refuses redirect_lan with only loopback listeners (redirected queries could not reach them)', () => {
    const p = problems(`
dns:
  upstreams: [9.9.9.9]
  redirect_lan: true
`);
    assert.ok(p.some((x) => /:3:3: dns\.redirect_lan: needs a dns\.listen address the LAN can reach/.test(x)), p.join('\n'));
    assert.deepEqual(problems('dns:\n  upstreams: [9.9.9.9]\n  listen: [192.168.1.1:53]\n  redirect_lan: true\n'), []);
  });
});
