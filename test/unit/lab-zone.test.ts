import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { labTopology } from '../../src/lab/topology.js';
import { BAD_RANGE_MEMBER, clientResolvConf, labNames, labZoneFile, nsdConfig } from '../../src/lab/zone.js';

const exec = promisify(execFile);
const hasNsd = await exec('nsd-checkzone', ['-h']).then(() => true, (e: { code?: unknown }) => e.code !== 'ENOENT');

describe('the lab zone and its NSD config', () => {
  const topo = labTopology('l7z');
  const names = labNames(topo);
  const zone = labZoneFile(topo);
  const records = zone.split('\n').filter((l) => !l.startsWith('$') && l.trim() !== '').map((l) => l.split(/\s+/));
  const rr = (rel: string, type: string) => records.filter((r) => r[0] === rel && r[1] === type).map((r) => r.slice(2).join(' '));

  it('points the phishing name, the shop and the ad names at the lab servers, in both families', () => {
    assert.deepEqual(rr('amazon-signin', 'A'), [topo.sites.phishing.ipv4]);
    assert.deepEqual(rr('amazon-signin', 'AAAA'), [topo.sites.phishing.ipv6]);
    assert.deepEqual(rr('shop', 'A'), [topo.sites.legit.ipv4]);
    assert.deepEqual(rr('*.adnet', 'A'), [topo.sites.ads.ipv4]);
    assert.deepEqual(rr('*.tracker', 'AAAA'), [topo.sites.ads.ipv6]);
    assert.deepEqual(rr('metrics.shop', 'CNAME'), [`${names.adName}.`]);
    assert.deepEqual(rr('cdn.badhost', 'A'), [BAD_RANGE_MEMBER.ipv4]);
    assert.equal(names.phishing, 'amazon-signin.example');
  });

  it('has TXT answers too big for 1232-byte and for 512-byte UDP', () => {
    const size = (rel: string) => rr(rel, 'TXT')[0]!.length;
    assert.ok(size('big') > 2500, `big TXT ${size('big')}`);
    assert.ok(size('mid') > 600 && size('mid') < 1000, `mid TXT ${size('mid')}`);
  });

  it('is a zone and a config NSD accepts', { skip: hasNsd ? undefined : 'nsd-checkzone not installed' }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-zone-'));
    try {
      await writeFile(join(dir, 'lab.zone'), zone);
      await writeFile(join(dir, 'nsd.conf'), nsdConfig(topo, { dir }));
      const z = await exec('nsd-checkzone', ['example', join(dir, 'lab.zone')]);
      assert.match(z.stdout, /zone example is ok/);
      await exec('nsd-checkconf', [join(dir, 'nsd.conf')]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives the clients the gateway as resolver', () => {
    assert.match(clientResolvConf(topo), new RegExp(`^nameserver ${topo.gateway.lanIpv4.replace(/\./g, '\\.')}$`, 'm'));
  });
});
