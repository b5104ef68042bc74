import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * CSRF and the "where you were going" link, both signed with a secret made at start (nothing to
 * configure; a restart only makes open forms ask once more).
 * - CSRF, signed double submit: the browser holds a random value in an HttpOnly SameSite=Strict cookie;
 *   every form carries HMAC(secret, cookie). Another site can neither read the cookie nor compute the mac.
 * - The original URL a captive redirect came from travels with its own mac, so /login?to=… cannot be
 *   used to send a resident to a site of someone else's choosing after logging in.
 */

export const COOKIE = 'gh_portal';
const COOKIE_VALUE = /^[A-Za-z0-9_-]{22,64}$/;

export class Tokens {
  constructor(private readonly secret: Buffer = randomBytes(32)) {}

  newCookie(): string {
    return randomBytes(18).toString('base64url');
  }

  private mac(kind: string, value: string): string {
    return createHmac('sha256', this.secret).update(kind).update('\0').update(value).digest('base64url');
  }

  /** The form field for this cookie value. */
  csrf(cookie: string): string {
    return this.mac('csrf', cookie);
  }

  csrfOk(cookie: string | undefined, field: unknown): boolean {
    if (cookie === undefined || !COOKIE_VALUE.test(cookie) || typeof field !== 'string') return false;
    return same(this.csrf(cookie), field);
  }

  signTo(url: string): string {
    return this.mac('to', url).slice(0, 22);
  }

  /** The URL to continue to after login, if it is a plain http(s) URL this portal signed. */
  checkedTo(url: unknown, sig: unknown): string | undefined {
    if (typeof url !== 'string' || typeof sig !== 'string' || url.length > 2048) return undefined;
    if (!/^https?:\/\//i.test(url) || !same(this.signTo(url), sig)) return undefined;
    return url;
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The value of one cookie from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function setCookieHeader(value: string, secure: boolean): string {
  return `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}
