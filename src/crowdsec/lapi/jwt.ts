import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The watcher token CrowdSec's LAPI hands out (gin-jwt, HS256): claims `exp`, `id` (= machine_id) and
 * `orig_iat`, in that order, so a token we issue decodes like one from the real LAPI.
 */
export interface WatcherClaims {
  readonly id: string;
  /** Epoch seconds. */
  readonly exp: number;
  /** Epoch seconds. */
  readonly orig_iat: number;
}

export type JwtCheck =
  | { readonly ok: true; readonly claims: WatcherClaims }
  | { readonly ok: false; readonly why: 'malformed' | 'signature is invalid' | 'Token is expired' };

const HEADER = b64url(Buffer.from('{"alg":"HS256","typ":"JWT"}'));

function b64url(b: Buffer): string {
  return b.toString('base64url');
}

function sign(data: string, secret: Buffer): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

export function signWatcherJwt(claims: WatcherClaims, secret: Buffer): string {
  const payload = b64url(Buffer.from(JSON.stringify({ exp: claims.exp, id: claims.id, orig_iat: claims.orig_iat })));
  const body = `${HEADER}.${payload}`;
  return `${body}.${b64url(sign(body, secret))}`;
}

/** Checks signature, algorithm and expiry; `nowSec` in epoch seconds. */
export function verifyWatcherJwt(token: string, secret: Buffer, nowSec: number): JwtCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || token.length > 4096) return { ok: false, why: 'malformed' };
  const [h, p, s] = parts as [string, string, string];
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, why: 'malformed' };
  }
  // Only HS256: accepting the header's alg blindly is the classic "alg: none" hole.
  if (!isRecord(header) || header.alg !== 'HS256') return { ok: false, why: 'signature is invalid' };
  const given = Buffer.from(s, 'base64url');
  const expected = sign(`${h}.${p}`, secret);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, why: 'signature is invalid' };
  if (!isRecord(payload) || typeof payload.id !== 'string' || typeof payload.exp !== 'number') return { ok: false, why: 'malformed' };
  if (payload.exp <= nowSec) return { ok: false, why: 'Token is expired' };
  const origIat = typeof payload.orig_iat === 'number' ? payload.orig_iat : payload.exp;
  return { ok: true, claims: { id: payload.id, exp: payload.exp, orig_iat: origIat } };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
