/** The lab internet answers the OS connectivity probes as the real ones do, so portal tests can check "online". */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { startListeners, type RunningServers } from '../../src/lab/servers.js';
import { probeHttp } from '../../src/lab/connect.js';
import { PROBE_ANSWERS } from '../../src/lab/pages.js';

describe('lab internet: OS probe answers', () => {
  let servers: RunningServers;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(`${tmpdir()}/lab-probes-`);
    servers = await startListeners({
      lab: 'lt', name: 'probes', readyFile: `${dir}/.ready`,
      listeners: [
        { kind: 'http', site: 'legit', host: '127.0.0.1', port: 0 },
        { kind: 'http', site: 'ads', host: '127.0.0.1', port: 0 },
      ],
    }, () => undefined);
  });
  after(async () => {
    await servers?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('every site answers each probe path exactly as the OS expects; other paths do not', async () => {
    assert.deepEqual(Object.keys(PROBE_ANSWERS).sort(), ['/connecttest.txt', '/gen_204', '/generate_204', '/hotspot-detect.html', '/ncsi.txt', '/success.txt']);
    for (const b of servers.bound) {
      for (const [path, want] of Object.entries(PROBE_ANSWERS)) {
        const r = await probeHttp({ url: `http://127.0.0.1:${b.port}${path}`, timeoutMs: 2000 });
        assert.equal(r.status, want.status, path);
        assert.equal(r.body ?? '', want.body, path);
      }
      assert.equal((await probeHttp({ url: `http://127.0.0.1:${b.port}/generate_205`, timeoutMs: 2000 })).status === 204, false);
    }
    assert.equal(PROBE_ANSWERS['/hotspot-detect.html']!.body.includes('<TITLE>Success</TITLE>'), true);
    assert.equal(PROBE_ANSWERS['/connecttest.txt']!.body, 'Microsoft Connect Test');
  });
});
