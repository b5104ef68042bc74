/**
 * What the shared listener setup promises beyond the caps: clients are counted per IPv4 address or IPv6
 * /64, a slow but honest response is never cut by the request timeouts, and a kept-alive connection is
 * reused between polls. Shortened limits keep the test fast; the daemon's are in LISTENER_LIMITS.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientKey, limitedHttpServer, LISTENER_LIMITS, probeListen, probeSocket, type ListenerLimits } from '../../src/net/listeners.js';

describe('clientKey', () => {
  it('counts IPv4-mapped addresses as IPv4, and IPv6 by its /64', () => {
    assert.equal(clientKey('::ffff:10.77.0.10'), '10.77.0.10');
    assert.equal(clientKey('10.77.0.10'), '10.77.0.10');
    assert.equal(clientKey('fd77::10'), clientKey('fd77::1:2:3:4'));
    assert.notEqual(clientKey('fd77::10'), clientKey('fd77:0:0:1::10'));
    assert.equal(clientKey(undefined), undefined, 'a Unix socket client has no address');
  });
});

describe('the daemon’s limits', () => {
  it('keep a headers timeout no longer than the request timeout, and a keep-alive longer than a bouncer’s 10 s poll', () => {
    for (const [key, l] of Object.entries(LISTENER_LIMITS)) {
      assert.ok(l.headersTimeoutMs <= l.requestTimeoutMs, key);
      assert.ok(l.maxPerClient <= l.maxConnections, key);
    }
    assert.ok(LISTENER_LIMITS['lapi.listen'].keepAliveTimeoutMs > 10_000);
  });
});

const FAST: ListenerLimits = { maxConnections: 8, maxPerClient: 4, headersTimeoutMs: 500, requestTimeoutMs: 800, keepAliveTimeoutMs: 3000, idleTimeoutMs: 1000 };

function get(port: number, path: string, agent: Agent | false): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('limitedHttpServer', () => {
  it('does not cut a response that takes longer than the headers and request timeouts, while it keeps sending', async (t) => {
    const server = limitedHttpServer('lapi.listen', (_req, res) => {
      // Like a big startup stream: a chunk every 200 ms for 2.4 s, three times the request timeout.
      let n = 0;
      const timer = setInterval(() => {
        res.write(`chunk ${n}\n`);
        if (++n === 12) {
          clearInterval(timer);
          res.end();
        }
      }, 200);
    }, FAST);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const r = await get((server.address() as AddressInfo).port, '/', false);
    assert.equal(r.status, 200);
    assert.equal(r.body.split('\n').filter(Boolean).length, 12);
    assert.ok(r.ms >= 2000, `${r.ms} ms`);
  });

  it('cuts a request whose body trickles in for longer than the request timeout, with a 408', async (t) => {
    const server = limitedHttpServer('lapi.listen', (req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    }, FAST);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const s = connect((server.address() as AddressInfo).port, '127.0.0.1');
    s.on('error', () => undefined);
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString()));
    const started = Date.now();
    s.write('POST /v1/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n');
    const trickle = setInterval(() => s.write('x'), 100);
    await new Promise((r) => s.once('close', r));
    clearInterval(trickle);
    const ms = Date.now() - started;
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.ok(ms >= 800 && ms < 3000, `cut after ${ms} ms`);
  });

  it('reuses a kept-alive connection between polls, and closes it once idle past the keep-alive timeout', async (t) => {
    let connections = 0;
    const server = limitedHttpServer('lapi.listen', (_req, res) => res.end('ok'), FAST);
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => {
      agent.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const port = (server.address() as AddressInfo).port;
    for (let i = 0; i < 3; i++) {
      assert.equal((await get(port, '/', agent)).status, 200);
      await new Promise((r) => setTimeout(r, 500)); // a poll interval, shorter than the keep-alive
    }
    assert.equal(connections, 1, 'one connection for three polls');
  });

  it('closes a kept-alive connection left idle past the keep-alive timeout', async (t) => {
    const server = limitedHttpServer('lapi.listen', (_req, res) => res.end('ok'), FAST);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const s = connect((server.address() as AddressInfo).port, '127.0.0.1');
    s.on('error', () => undefined);
    let answered = 0;
    s.on('data', () => (answered = Date.now()));
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => s.once('close', r));
    const idle = Date.now() - answered;
    assert.ok(answered > 0, 'answered');
    assert.ok(idle >= 2500 && idle < 5000, `closed ${idle} ms after the answer`);
  });
});

describe('checks before the daemon touches the kernel', () => {
  it('a socket another daemon answers on refuses the start; a stale socket file does not', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-h2-probe-'));
    const path = join(dir, 'api.sock');
    const other = createServer();
    await new Promise<void>((r) => other.listen(path, () => r()));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    await assert.rejects(probeSocket('api.socket', path), { message: `api.socket: ${path} is in use: another gatehouse is running with this socket (stop it first)` });
    await new Promise<void>((r) => other.close(() => r()));
    // What kill -9 leaves: the socket file stays, no one listens on it.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => child.stdout!.once('data', r));
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
    assert.ok(existsSync(path), 'the stale socket file is there');
    await probeSocket('api.socket', path);
  });

  it('an address this machine does not have names the key', async () => {
    await assert.rejects(probeListen('mirror.listen', '192.0.2.123:41412'), { message: 'mirror.listen: 192.0.2.123:41412 is not an address of this machine' });
  });
});
