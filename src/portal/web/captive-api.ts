import type { SessionView } from '../types.js';

/** RFC 8908 §5: the Captive Portal API's media type. */
export const CAPTIVE_JSON = 'application/captive+json';

/** The RFC 8908 API state for one client: captive until logged in, then what is left of the session. */
export function captiveState(session: SessionView | undefined, portalUrl: string, now: number): Record<string, unknown> {
  if (!session || session.state === 'ended') return { captive: true, 'user-portal-url': `${portalUrl}/login` };
  const out: Record<string, unknown> = {
    captive: false,
    'user-portal-url': `${portalUrl}/status`,
    'seconds-remaining': Math.max(0, Math.floor((session.endsAt - now) / 1000)),
    // Sessions end at their limits and a new login starts a new one: nothing to extend in place.
    'can-extend-session': false,
  };
  const left = [session.downloadLeft, session.uploadLeft].filter((v): v is number => v !== undefined);
  // One number in the RFC: what runs out first.
  if (left.length > 0) out['bytes-remaining'] = Math.max(0, Math.min(...left));
  return out;
}
