/** The session cookie's name. */
export const SESSION_COOKIE = 'gatehouse_session';

/** name → value of a Cookie header; later duplicates do not override the first (what browsers send first is the most specific). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (out.has(name)) continue;
    let value = part.slice(i + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out.set(name, decodeURIComponent(value));
    } catch {
      /* not ours: ignore */
    }
  }
  return out;
}

/**
 * HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Secure over TLS, and
 * Path=/ for the pages and /api alike. `maxAgeSec` 0 deletes it.
 */
export function sessionCookie(value: string, o: { secure: boolean; maxAgeSec: number }): string {
  return [`${SESSION_COOKIE}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${o.maxAgeSec}`, ...(o.secure ? ['Secure'] : [])].join('; ');
}
