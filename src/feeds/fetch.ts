import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import type { FeedSpec } from './types.js';

/** What a fetch reads of a feed (DNS lists fetch through here too). */
export type FetchSpec = Pick<FeedSpec, 'name' | 'type' | 'url' | 'path' | 'timeout'>;

/** Validators remembered from the last successful fetch, sent back as a conditional GET. */
export interface FetchState {
  readonly etag?: string;
  readonly lastModified?: string;
}

export type FetchResult =
  | {
      readonly status: 'modified';
      /** The decoded text; absent when it went to FetchOptions.textSink instead. */
      readonly body?: string;
      readonly etag?: string;
      readonly lastModified?: string;
      /** Decoded body size in bytes. */
      readonly bytes: number;
    }
  | { readonly status: 'not_modified' };

/** Takes a body's text as it arrives (a ListParser), so a big list is never held whole. */
export interface TextSink {
  push(text: string): void;
}

export interface FetchOptions {
  /**
   * Streams the decoded text into a sink instead of returning it: called once per attempt (a retry starts
   * over with a fresh sink), and the result then carries no body. A 1M-line list is ~14 MB on the wire and
   * was three copies of that at once (chunks, the joined Buffer, the string) before the parse began.
   */
  readonly textSink?: () => TextSink;
  /** Called as body bytes arrive (as sent on the wire); total is Content-Length when the server gave one. */
  onProgress?(bytes: number, total?: number): void;
  /** Extra attempts after a network error, timeout or 5xx. Default 2. 4xx never retries. */
  readonly retries?: number;
  /** Wait before the first retry; doubles each time. Default 1000 ms. */
  readonly backoffMs?: number;
  /** Largest decoded body accepted. Default 256 MiB. */
  readonly maxBytes?: number;
  /** Cancels the fetch (e.g. on shutdown). */
  readonly signal?: AbortSignal;
  readonly dispatcher?: Dispatcher;
  readonly userAgent?: string;
}

export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/** One-line, user-facing failure; `retryable` says whether another attempt could help. */
export class FeedFetchError extends Error {
  constructor(
    readonly feed: string,
    readonly detail: string,
    readonly retryable: boolean,
    readonly httpStatus?: number,
  ) {
    super(`feed ${feed}: ${detail}`);
    this.name = 'FeedFetchError';
  }
}

// Blocklists are commonly served through redirects (GitHub raw, CDN mirrors).
let defaultDispatcher: Dispatcher | undefined;
function sharedDispatcher(): Dispatcher {
  return (defaultDispatcher ??= new Agent().compose(interceptors.redirect({ maxRedirections: 5 })));
}

/**
 * Fetches a feed's list text: `url` feeds over HTTP(S) with a conditional GET, `file` feeds from disk
 * (mtime and size act as validators). Throws FeedFetchError with a one-line message.
 */
export async function fetchFeed(spec: FetchSpec, state: FetchState = {}, opts: FetchOptions = {}): Promise<FetchResult> {
  if (spec.type === 'file') return readFeedFile(spec, state, opts);
  if (spec.type !== 'url') {
    throw new FeedFetchError(spec.name, `type ${spec.type} is not a list download (the CrowdSec client pulls it)`, false);
  }
  const url = checkUrl(spec);
  const retries = opts.retries ?? 2;
  const backoff = opts.backoffMs ?? 1000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchOnce(spec, url, state, opts);
    } catch (err) {
      const e = err instanceof FeedFetchError ? err : new FeedFetchError(spec.name, describe(err, url), true);
      if (!e.retryable || attempt >= retries || opts.signal?.aborted) {
        if (attempt === 0) throw e;
        throw new FeedFetchError(spec.name, `${e.detail} (gave up after ${attempt + 1} attempts)`, false, e.httpStatus);
      }
      await sleep(backoff * 2 ** attempt, undefined, { signal: opts.signal }).catch(() => undefined);
    }
  }
}

function checkUrl(spec: FetchSpec): URL {
  let url: URL;
  try {
    url = new URL(spec.url ?? '');
  } catch {
    throw new FeedFetchError(spec.name, `not a valid URL: ${JSON.stringify(spec.url ?? '')}`, false);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FeedFetchError(spec.name, `only http and https URLs can be fetched, not ${url.protocol} (${url.href})`, false);
  }
  return url;
}

async function fetchOnce(spec: FetchSpec, url: URL, state: FetchState, opts: FetchOptions): Promise<FetchResult> {
  const name = spec.name;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, spec.timeout);
  const onCancel = (): void => controller.abort();
  opts.signal?.addEventListener('abort', onCancel, { once: true });
  const headers: Record<string, string> = {
    'accept-encoding': 'gzip, deflate, br',
    'user-agent': opts.userAgent ?? 'gatehouse-feeds/0.1',
  };
  if (state.etag !== undefined) headers['if-none-match'] = state.etag;
  if (state.lastModified !== undefined) headers['if-modified-since'] = state.lastModified;
  try {
    const res = await request(url, {
      method: 'GET',
      headers,
      signal: controller.signal,
      dispatcher: opts.dispatcher ?? sharedDispatcher(),
    });
    if (res.statusCode === 304) {
      await res.body.dump();
      return { status: 'not_modified' };
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump().catch(() => undefined);
      const retryable = res.statusCode >= 500;
      throw new FeedFetchError(name, `HTTP ${res.statusCode} from ${url.href}`, retryable, res.statusCode);
    }
    const total = numberHeader(res.headers['content-length']);
    if (total !== undefined && total > maxBytes) {
      await res.body.dump().catch(() => undefined);
      throw new FeedFetchError(name, `${url.href} sends ${mib(total)}, more than the ${mib(maxBytes)} limit`, false);
    }
    const encoding = (header(res.headers['content-encoding']) ?? 'identity').trim().toLowerCase();
    const body = await readBody(res.body, encoding, maxBytes, total, opts, name, url);
    return {
      status: 'modified',
      ...body,
      ...optional('etag', header(res.headers['etag'])),
      ...optional('lastModified', header(res.headers['last-modified'])),
    };
  } catch (err) {
    if (timedOut) throw new FeedFetchError(name, `timed out after ${seconds(spec.timeout)} fetching ${url.href}`, true);
    if (opts.signal?.aborted) throw new FeedFetchError(name, `cancelled while fetching ${url.href}`, false);
    throw err;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onCancel);
  }
}

async function readBody(
  body: Readable,
  encoding: string,
  maxBytes: number,
  total: number | undefined,
  opts: Pick<FetchOptions, 'onProgress' | 'textSink'>,
  name: string,
  url: URL,
): Promise<{ body?: string; bytes: number }> {
  const onProgress = opts.onProgress;
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : encoding === 'identity' || encoding === ''
            ? undefined
            : null;
  if (decoder === null) {
    body.destroy();
    throw new FeedFetchError(name, `${url.href} uses Content-Encoding ${JSON.stringify(encoding)}, which is not supported`, false);
  }
  let wire = 0;
  const progress = new Transform({
    transform(chunk: Buffer, _enc, done) {
      wire += chunk.length;
      onProgress?.(wire, total);
      done(null, chunk);
    },
  });
  const chunks: Buffer[] = [];
  const text = opts.textSink ? { sink: opts.textSink(), decoder: new StringDecoder('utf8') } : undefined;
  let size = 0;
  // Kept aside: pipeline may reject with the source's abort error rather than the one thrown here.
  let limitError: FeedFetchError | undefined;
  const collect = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      size += chunk.length;
      // Counted after decoding, so a small gzip bomb cannot blow past the limit either.
      if (size > maxBytes) {
        limitError = new FeedFetchError(name, `${url.href} sent more than the ${mib(maxBytes)} limit`, false);
        throw limitError;
      }
      if (text) text.sink.push(text.decoder.write(chunk));
      else chunks.push(chunk);
    }
  };
  try {
    if (decoder) await pipeline(body, progress, decoder, collect);
    else await pipeline(body, progress, collect);
  } catch (err) {
    if (limitError) throw limitError;
    if (err instanceof FeedFetchError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new FeedFetchError(name, `${url.href} sent a broken ${encoding} body (${code})`, true);
    }
    throw err;
  }
  if (text) {
    const rest = text.decoder.end();
    if (rest.length > 0) text.sink.push(rest);
    return { bytes: size };
  }
  return { body: Buffer.concat(chunks, size).toString('utf8'), bytes: size };
}

async function readFeedFile(spec: FetchSpec, state: FetchState, opts: FetchOptions): Promise<FetchResult> {
  const path = spec.path;
  if (path === undefined || path === '') throw new FeedFetchError(spec.name, 'type file needs a path', false);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new FeedFetchError(spec.name, `${path} is not a regular file`, false);
    if (st.size > maxBytes) throw new FeedFetchError(spec.name, `${path} is ${mib(st.size)}, more than the ${mib(maxBytes)} limit`, false);
    // Seconds-resolution HTTP dates miss quick rewrites, so size+mtimeMs serve as the ETag.
    const etag = `"file-${st.size}-${Math.floor(st.mtimeMs)}"`;
    const lastModified = st.mtime.toUTCString();
    if (state.etag === etag && state.lastModified === lastModified) return { status: 'not_modified' };
    if (opts.textSink) {
      const sink = opts.textSink();
      let bytes = 0;
      for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
        sink.push(chunk as string);
        bytes += Buffer.byteLength(chunk as string);
        opts.onProgress?.(bytes, st.size);
      }
      return { status: 'modified', bytes, etag, lastModified };
    }
    const buf = await readFile(path);
    opts.onProgress?.(buf.length, st.size);
    return { status: 'modified', body: buf.toString('utf8'), bytes: buf.length, etag, lastModified };
  } catch (err) {
    if (err instanceof FeedFetchError) throw err;
    const code = (err as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code ?? err);
    throw new FeedFetchError(spec.name, `cannot read ${path}: ${why}`, false);
  }
}

function describe(err: unknown, url: URL): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : undefined;
  const what =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host name not found'
        : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
          ? 'connection reset'
          : code ?? (typeof e.message === 'string' ? e.message : String(err));
  return `cannot fetch ${url.href}: ${what}`;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function numberHeader(v: string | string[] | undefined): number | undefined {
  const s = header(v);
  if (s === undefined || !/^\d+$/.test(s.trim())) return undefined;
  return Number(s);
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

const seconds = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`);
const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
