/**
 * The `shaper:` section as an admin meets it: defaults, the example file's block, and mistakes reported with
 * FILE:LINE:COL (what `gatehouse config check` prints).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem } from '../../src/config/index.js';
import { checkConfig, loadConfig } from '../../src/daemon/index.js';
import { configFiles, exampleBlock } from './helpers/config-files.js';

const { dir, write } = configFiles('s1-shaper-config-');
const problems = (yaml: string) => checkConfig(write(yaml)).map(formatProblem);
const IFACES = 'interfaces: { lan: [br-lan], wan: [wan0] }\n';

describe('shaper: section', () => {
  it('is off without the section, and fills in defaults with it', () => {
    assert.equal(loadConfig(write(IFACES)).shaper, undefined);
    const c = loadConfig(write(`${IFACES}shaper:\n  download: 100mbit\n  upload: 20Mbit\n`)).shaper;
    assert.ok(c);
    assert.equal(c.download, 100e6);
    assert.equal(c.upload, 20e6);
    assert.equal(c.p2p, 'throttle');
    assert.equal(c.p2p_rate, 256e3);
    assert.equal(c.fair_use_rate, 1e6);
    assert.equal(c.max_connections, 300);
    assert.equal(c.new_connections_per_second, 50);
    assert.equal(c.idle, 300_000);
    assert.equal(c.interfaces, undefined, 'the firewall interfaces are used');
  });

  it("the example file's shaper block (uncommented) is valid", () => {
    const block = exampleBlock('shaper');
    assert.deepEqual(checkConfig(write(`data_dir: ${dir}\n${block}\n`)).map(formatProblem), []);
  });

  it('names the line and column of a rate without a unit, a misspelt key and a bad mode', () => {
    const p = problems(`${IFACES}shaper:
  download: 100
  upload: 20mbit
  p2p: block
  fair_use: 1mbit
`);
    assert.ok(p.some((x) => /:3:3: shaper\.download: expected an amount with a unit such as "100mbit"/.test(x)), p.join('\n'));
    assert.ok(p.some((x) => /:5:3: shaper\.p2p: expected one of throttle, off; got "block"/.test(x)), p.join('\n'));
    assert.ok(p.some((x) => /:6:3: shaper\.fair_use: unknown key; allowed here: .*fair_use_rate/.test(x)), p.join('\n'));
  });

  it('refuses rates out of range, a p2p rate above the link, an interface on both sides and a bad name', () => {
    const p = problems(`${IFACES}shaper:
  download: 10kbit
  upload: 200gbit
`);
    assert.ok(p.some((x) => /:3:3: shaper\.download: a link rate must be at least 64kbit/.test(x)), p.join('\n'));
    assert.ok(p.some((x) => /:4:3: shaper\.upload: a link rate must be at most 100gbit/.test(x)), p.join('\n'));
    assert.equal(p.length, 2, `only the two rates: ${p.join('\n')}`);
    const slow = loadConfig(write(`${IFACES}shaper:\n  download: 128kbit\n  upload: 100kbit\n`)).shaper!;
    assert.equal(slow.fair_use_rate, 100e3, 'the fair-use default never exceeds the slower link');
    const q = problems(`${IFACES}shaper:
  download: 10mbit
  upload: 1mbit
  p2p_rate: 2mbit
  interfaces: { lan: [eth1, "eth0"], wan: ["eth0", "bad name"] }
`);
    assert.ok(q.some((x) => /:5:3: shaper\.p2p_rate: p2p_rate \(2000kbit\) must not exceed the slower link rate \(1000kbit\)/.test(x)), q.join('\n'));
    assert.ok(q.some((x) => /:6:29: shaper\.interfaces\.lan\[1\]: eth0 is listed as LAN and as WAN/.test(x)), q.join('\n'));
    assert.ok(q.some((x) => /:6:52: shaper\.interfaces\.wan\[1\]: not a Linux interface name/.test(x)), q.join('\n'));
  });

  it('needs interfaces when the section has none of its own', () => {
    const p = problems('shaper:\n  download: 10mbit\n  upload: 2mbit\n');
    assert.ok(p.some((x) => /interfaces/.test(x)), p.join('\n'));
    assert.deepEqual(problems('shaper:\n  download: 10mbit\n  upload: 2mbit\n  interfaces: { lan: [eth1], wan: [eth0] }\n'), []);
  });
});
