import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * How much of a request body the LAPI takes, per route, counted after gzip decompression. Authentication
 * happens in onRequest hooks, before any of this is read.
 */
export const BODY_LIMITS = {
  /** CrowdSec's own cap for authenticated bodies (body_limit.go): `cscli decisions import` sends a whole list as one alert. */
  alerts: 50 * 1024 * 1024,
  /** Machine id, password and the installed scenarios' names: a few KB even with the whole hub installed. */
  login: 256 * 1024,
  /** A remediation component's metrics: a few KB. */
  usageMetrics: 1024 * 1024,
} as const;

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  readonly statusCode = 413;
  constructor(limit: number) {
    super(`request body is larger than ${formatBytes(limit)}`);
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/**
 * Inflates a gzip request body and stops at `limit` inflated bytes: the inflater is torn down there, so a
 * gzip bomb costs at most `limit` bytes of output and the time to produce them, and the request gets a 413.
 * The stream carries `receivedEncodedLength` (what fastify compares with Content-Length).
 */
export function inflateCapped(payload: Readable, limit: number): Readable & { receivedEncodedLength: number } {
  const gunzip = createGunzip();
  let inflated = 0;
  const capped = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      inflated += chunk.length;
      if (inflated > limit) {
        payload.unpipe(gunzip);
        gunzip.destroy();
        done(new BodyTooLargeError(limit));
        return;
      }
      done(null, chunk);
    },
  }) as Transform & { receivedEncodedLength: number };
  capped.receivedEncodedLength = 0;
  payload.on('data', (c: Buffer) => (capped.receivedEncodedLength += c.length));
  gunzip.on('error', (e) => capped.destroy(Object.assign(e, { statusCode: 400, message: `invalid gzip body: ${e.message}` })));
  payload.pipe(gunzip).pipe(capped);
  return capped;
}
