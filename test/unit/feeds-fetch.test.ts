import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { fetchFeed, FeedFetchError } from '../../src/feeds/fetch.js';
import type { FeedSpec } from '../../src/feeds/types.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
const hits = new Map<string, IncomingMessage[]>();
let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, [...(hits.get(path) ?? []), req]);
    const h = routes.get(path);
    if (h) h(req, res);
    else res.writeHead(404).end('not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const spec = (path: string, over: Partial<FeedSpec> = {}): FeedSpec => ({
  name: 'test',
  type: 'url',
  url: base + path,
  format: 'plain',
  direction: 'both',
  refresh: 3_600_000,
  maxShrink: 0.5,
  timeout: 5000,
  ...over,
});
const fast = { backoffMs: 10 };
const LIST = '1.2.3.4\n5.6.7.8\n';

describe('fetchFeed over HTTP', () => {
  it('sends If-None-Match and gets not_modified on 304', async () => {
    routes.set('/etag', (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304).end();
      res.writeHead(200, { etag: '"v1"', 'content-type': 'text/plain' }).end(LIST);
    });
    const first = await fetchFeed(spec('/etag'), {}, fast);
    assert.equal(first.status, 'modified');
    assert.ok(first.status === 'modified');
    assert.equal(first.body, LIST);
    assert.equal(first.etag, '"v1"');
    assert.equal(first.bytes, LIST.length);
    const second = await fetchFeed(spec('/etag'), { etag: first.etag! }, fast);
    assert.deepEqual(second, { status: 'not_modified' });
    assert.equal(hits.get('/etag')![1]!.headers['if-none-match'], '"v1"');
  });

  it('sends If-Modified-Since from Last-Modified', async () => {
    const stamp = 'Sun, 19 Feb 2023 22:03:03 GMT';
    routes.set('/lm', (req, res) => {
      if (req.headers['if-modified-since'] === stamp) return void res.writeHead(304).end();
      res.writeHead(200, { 'last-modified': stamp }).end(LIST);
    });
    const first = await fetchFeed(spec('/lm'), {}, fast);
    assert.ok(first.status === 'modified');
    assert.equal(first.lastModified, stamp);
    assert.equal(first.etag, undefined);
    assert.equal((await fetchFeed(spec('/lm'), { lastModified: stamp }, fast)).status, 'not_modified');
  });

  it('retries after 503s and then succeeds', async () => {
    let n = 0;
    routes.set('/flaky', (_req, res) => {
      n++;
      if (n <= 2) return void res.writeHead(503).end('busy');
      res.writeHead(200).end(LIST);
    });
    const r = await fetchFeed(spec('/flaky'), {}, { ...fast, retries: 2 });
    assert.equal(r.status, 'modified');
    assert.equal(n, 3);
  });

  it('gives up on persistent 5xx with the attempt count in the message', async () => {
    routes.set('/down', (_req, res) => void res.writeHead(502).end());
    await assert.rejects(fetchFeed(spec('/down'), {}, { ...fast, retries: 1 }), (e: unknown) => {
      assert.ok(e instanceof FeedFetchError);
      assert.equal(e.message, `feed test: HTTP 502 from ${base}/down (gave up after 2 attempts)`);
      return true;
    });
    assert.equal(hits.get('/down')!.length, 2);
  });

  it('fails on 404 at once, without retrying', async () => {
    await assert.rejects(fetchFeed(spec('/missing'), {}, { ...fast, retries: 3 }), {
      message: `feed test: HTTP 404 from ${base}/missing`,
    });
    assert.equal(hits.get('/missing')!.length, 1);
  });

  it('times out with a clear message', async () => {
    routes.set('/slow', (_req, res) => {
      res.writeHead(200);
      res.write('1.2.3.4\n'); // headers and a first line, then nothing
    });
    const t0 = Date.now();
    await assert.rejects(fetchFeed(spec('/slow', { timeout: 300 }), {}, { ...fast, retries: 0 }), {
      message: `feed test: timed out after 0.3s fetching ${base}/slow`,
    });
    assert.ok(Date.now() - t0 < 3000);
  });

  it('decodes gzip and deflate bodies', async () => {
    const big = Array.from({ length: 5000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`).join('\n');
    routes.set('/gz', (_req, res) => void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(big)));
    routes.set('/deflate', (_req, res) => void res.writeHead(200, { 'content-encoding': 'deflate' }).end(deflateSync(big)));
    for (const path of ['/gz', '/deflate']) {
      const r = await fetchFeed(spec(path), {}, fast);
      assert.ok(r.status === 'modified');
      assert.equal(r.body, big);
      assert.equal(r.bytes, big.length);
    }
    assert.match(String(hits.get('/gz')![0]!.headers['accept-encoding']), /gzip/);
  });

  it('streams the text into a sink: multi-byte characters split across chunks, gzip, and a fresh sink per retry', async () => {
    // "ü" is two bytes in UTF-8; sent one byte at a time it must still arrive whole.
    const text = '# Grüße\n1.2.3.4\n'.repeat(3000);
    const bytes = Buffer.from(text);
    let attempts = 0;
    routes.set('/stream', (_req, res) => {
      if (++attempts === 1) {
        // First attempt: some text, then a server error mid-list (the connection is cut).
        res.writeHead(200, { 'content-length': String(bytes.length) });
        res.write(bytes.subarray(0, 1000));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.writeHead(200);
      for (let i = 0; i < 64; i++) res.write(bytes.subarray(i, i + 1));
      res.end(bytes.subarray(64));
    });
    routes.set('/stream-gz', (_req, res) => void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(bytes)));
    for (const path of ['/stream', '/stream-gz']) {
      const sinks: string[][] = [];
      const r = await fetchFeed(spec(path), {}, { ...fast, textSink: () => { const got: string[] = []; sinks.push(got); return { push: (t) => got.push(t) }; } });
      assert.ok(r.status === 'modified');
      assert.equal(r.body, undefined, 'the text went to the sink, not into the result');
      assert.equal(r.bytes, bytes.length);
      assert.equal(sinks.at(-1)!.join(''), text);
      if (path === '/stream') assert.equal(sinks.length, 2, 'the retry started over with a new sink');
    }
  });

  it('refuses a body over maxBytes, also when it is compressed', async () => {
    const big = 'x'.repeat(200_000);
    routes.set('/bomb', (_req, res) => void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(big)));
    routes.set('/large', (_req, res) => void res.writeHead(200, { 'content-length': String(big.length) }).end(big));
    await assert.rejects(fetchFeed(spec('/bomb'), {}, { ...fast, maxBytes: 100_000 }), /sent more than the 0\.1 MiB limit/);
    await assert.rejects(fetchFeed(spec('/large'), {}, { ...fast, maxBytes: 100_000 }), /sends 0\.2 MiB, more than the 0\.1 MiB limit/);
  });

  it('reports progress with the Content-Length total', async () => {
    const body = '9.9.9.9\n'.repeat(50_000);
    routes.set('/progress', (_req, res) => void res.writeHead(200, { 'content-length': String(body.length) }).end(body));
    const calls: Array<[number, number | undefined]> = [];
    await fetchFeed(spec('/progress'), {}, { ...fast, onProgress: (b, t) => calls.push([b, t]) });
    assert.ok(calls.length >= 1);
    assert.deepEqual(calls.at(-1), [body.length, body.length]);
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i]![0] > calls[i - 1]![0]);
  });

  it('follows redirects', async () => {
    routes.set('/new', (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end(LIST));
    routes.set('/old', (_req, res) => void res.writeHead(301, { location: '/new' }).end());
    const r = await fetchFeed(spec('/old'), {}, fast);
    assert.ok(r.status === 'modified');
    assert.equal(r.body, LIST);
  });

  it('explains a refused connection and a bad URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(fetchFeed(spec('', { url: `http://127.0.0.1:${port}/x` }), {}, { ...fast, retries: 1 }), {
      message: `feed test: cannot fetch http://127.0.0.1:${port}/x: connection refused (gave up after 2 attempts)`,
    });
    await assert.rejects(fetchFeed(spec('', { url: 'ftp://example.invalid/list' }), {}, fast), /only http and https URLs/);
    await assert.rejects(fetchFeed(spec('', { url: 'not a url' }), {}, fast), /not a valid URL: "not a url"/);
  });
});

describe('fetchFeed from a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-feeds-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file, then reports not_modified until it changes', async () => {
    const path = join(dir, 'list.txt');
    writeFileSync(path, LIST);
    utimesSync(path, new Date('2024-01-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z'));
    const s = spec('', { type: 'file', path, url: undefined });
    const first = await fetchFeed(s, {}, fast);
    assert.ok(first.status === 'modified');
    assert.equal(first.body, LIST);
    assert.equal(first.lastModified, 'Mon, 01 Jan 2024 00:00:00 GMT');
    const again = await fetchFeed(s, { etag: first.etag!, lastModified: first.lastModified! }, fast);
    assert.equal(again.status, 'not_modified');
    writeFileSync(path, LIST + '9.9.9.9\n');
    const changed = await fetchFeed(s, { etag: first.etag!, lastModified: first.lastModified! }, fast);
    assert.ok(changed.status === 'modified');
    assert.match(changed.body ?? '', /9\.9\.9\.9/);
  });

  it('streams a file feed into a sink', async () => {
    const path = join(dir, 'stream.txt');
    const text = '5.6.7.8\n'.repeat(300_000);
    writeFileSync(path, text);
    const got: string[] = [];
    const r = await fetchFeed(spec('', { type: 'file', path, url: undefined }), {}, { ...fast, textSink: () => ({ push: (t) => got.push(t) }) });
    assert.ok(r.status === 'modified');
    assert.equal(r.body, undefined);
    assert.equal(r.bytes, text.length);
    assert.ok(got.length > 1, 'read in pieces');
    assert.equal(got.join(''), text);
  });

  it('says which file is missing', async () => {
    const path = join(dir, 'nope.txt');
    await assert.rejects(fetchFeed(spec('', { type: 'file', path }), {}, fast), { message: `feed test: cannot read ${path}: no such file` });
  });
});
