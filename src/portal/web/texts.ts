import type { LimitKind, LoginRefusal } from '../types.js';

/*
 * Every sentence a resident reads on the portal, by key. `portal.texts` overrides any of them (the admin's
 * language); the rest stay English. Texts are plain text: the pages escape them like any other input.
 * `{n}` in a text is replaced by a number (seconds to wait, devices).
 */
export const DEFAULT_TEXTS = {
  /** The page's language tag (html lang). */
  lang: 'en',
  title: 'Network login',
  intro: 'Log in to use the internet here.',
  username: 'Username',
  password: 'Password',
  login: 'Log in',
  voucher: 'Voucher code',
  voucher_login: 'Use voucher',
  terms: 'By continuing you accept the terms of use of this network: fair use, no abuse.',
  accept: 'Accept and continue',
  or: 'or',
  logged_in: 'You are logged in.',
  continue: 'Continue to',
  status_title: 'Your connection',
  time_left: 'Time left',
  download_left: 'Download left',
  upload_left: 'Upload left',
  unlimited: 'no limit',
  devices: 'Your devices',
  this_device: 'this device',
  logout: 'Log out',
  logged_out: 'You are logged out. Log in again to use the internet.',
  blocks_title: 'Recently blocked',
  blocks_none: 'Nothing of yours was blocked recently.',
  block_tried: 'tried to reach',
  block_listed: 'which is listed by',
  block_gone: 'a list entry that has since been removed',
  block_times: 'attempts: {n}, last',
  block_by_admin: 'the network admin',
  used: 'Used (down / up)',
  ads_title: 'Ad blocking',
  ads_on: 'Ads and trackers are blocked for your devices. Security lists (phishing, malware) always stay on.',
  ads_off: 'Ads are not blocked for your devices. Security lists (phishing, malware) stay on.',
  ads_turn_off: 'Show ads (turn ad blocking off)',
  ads_turn_on: 'Block ads again',
  err_bad_credentials: 'Wrong username or password.',
  err_bad_voucher: 'This voucher code is not valid or is used up.',
  err_rate_limited: 'Too many attempts. Wait {n} s, then try again.',
  err_limit_reached: 'Your allowance is used up for now.',
  err_too_many_devices: 'Your account is logged in on too many devices. Log out on one of them first.',
  err_unknown_client: 'Your device is not known on this network yet. Reconnect to the network and try again.',
  err_method_off: 'This way of logging in is turned off here.',
  err_form_expired: 'The form expired. Please try again.',
  err_missing: 'Please fill in the form.',
  err_internal: 'Something went wrong on the gateway. Please try again in a moment.',
  limit_session_time: 'Your session time is used up.',
  limit_idle: 'Your session ended after a pause.',
  limit_session_download: 'Your download allowance for this session is used up.',
  limit_session_upload: 'Your upload allowance for this session is used up.',
  limit_daily: 'Your daily allowance is used up. It renews tomorrow.',
  limit_weekly: 'Your weekly allowance is used up. It renews next week.',
  limit_max_devices: 'Your account is logged in on too many devices.',
} as const;

export type PortalTextKey = keyof typeof DEFAULT_TEXTS;
export type PortalTexts = Record<PortalTextKey, string>;

/** The keys `portal.texts` accepts (for the config schema: anything else is a typo worth an error). */
export const PORTAL_TEXT_KEYS = Object.keys(DEFAULT_TEXTS) as readonly PortalTextKey[];

export function resolveTexts(overrides: Partial<PortalTexts> | undefined): PortalTexts {
  const out: PortalTexts = { ...DEFAULT_TEXTS };
  for (const k of PORTAL_TEXT_KEYS) {
    const v = overrides?.[k];
    if (typeof v === 'string' && v.length > 0) out[k] = v;
  }
  return out;
}

export function fill(text: string, n: number): string {
  return text.replaceAll('{n}', String(n));
}

/** The sentence for a refused login: what happened and what to do. */
export function refusalText(t: PortalTexts, r: { reason: LoginRefusal; retryAfterSec?: number; limit?: LimitKind }, method: 'accounts' | 'vouchers' | 'click_through'): string {
  switch (r.reason) {
    case 'bad_credentials':
      return method === 'vouchers' ? t.err_bad_voucher : t.err_bad_credentials;
    case 'rate_limited':
      return fill(t.err_rate_limited, Math.max(1, Math.ceil(r.retryAfterSec ?? 60)));
    case 'limit_reached':
      return r.limit ? t[`limit_${r.limit}`] : t.err_limit_reached;
    case 'too_many_devices':
      return t.err_too_many_devices;
    case 'unknown_client':
      return t.err_unknown_client;
    case 'method_off':
      return t.err_method_off;
  }
}
