import type { SiteName } from './server-spec.js';

/**
 * Pages the lab's web servers serve. Each carries a marker a test can look for in the body, and the
 * same marker as the `x-lab-site` response header.
 */
export const SITE_MARKER: Record<SiteName, string> = {
  legit: 'gatehouse-lab-site:legit',
  phishing: 'gatehouse-lab-site:phishing',
  ads: 'gatehouse-lab-site:ads',
};

export const SITE_HEADER = 'x-lab-site';

const shell = (site: SiteName, title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="gatehouse-lab" content="${SITE_MARKER[site]}">
<title>${title}</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:3rem auto}input,button{display:block;width:100%;margin:.4rem 0;padding:.5rem}</style>
</head><body>
${body}
</body></html>
`;

export function legitPage(): string {
  return shell('legit', 'Example Books — a legitimate shop', `<h1>Example Books</h1>
<p>A perfectly ordinary web shop in the lab's internet. If you can read this, the gateway let you through.</p>
<!-- ${SITE_MARKER.legit} -->`);
}

/** A fake "Amazon" sign-in page, the kind a phishing mail links to. */
export function phishingPage(): string {
  return shell('phishing', 'Amazon Sign-In', `<h1>amazon</h1>
<h2>Sign in</h2>
<form method="post" action="/login">
<label>Email or mobile phone number<input name="email" autocomplete="username"></label>
<label>Password<input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>
<p><small>Your account has been suspended. Sign in within 24 hours to keep it.</small></p>
<!-- ${SITE_MARKER.phishing} -->`);
}

export function phishingCapturedPage(): string {
  return shell('phishing', 'Amazon Sign-In', `<h1>Thank you</h1>
<p>Your account is being verified. (In the real world, your password would now belong to someone else.)</p>
<!-- ${SITE_MARKER.phishing} -->`);
}

/** What an ad server sends: the thing a DNS blocklist keeps off the screen. */
export function adsPage(): string {
  return shell('ads', 'Sponsored', `<h1>BUY NOW!!!</h1>
<p>An ad (and a tracking pixel) from the lab's ad network. Clients whose DNS blocks ads never get here.</p>
<!-- ${SITE_MARKER.ads} -->`);
}

/**
 * What the operating systems' connectivity probes expect from the real internet (any host: the lab
 * serves them on every site). A captive portal answers anything else, which is how a phone notices it.
 */
export interface ProbeAnswer {
  readonly who: string;
  readonly status: number;
  readonly contentType?: string;
  readonly body: string;
}

export const PROBE_ANSWERS: Readonly<Record<string, ProbeAnswer>> = {
  '/hotspot-detect.html': { who: 'Apple', status: 200, contentType: 'text/html', body: '<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>\n' },
  '/generate_204': { who: 'Android/Chrome', status: 204, body: '' },
  '/gen_204': { who: 'Android/Chrome', status: 204, body: '' },
  '/connecttest.txt': { who: 'Windows', status: 200, contentType: 'text/plain', body: 'Microsoft Connect Test' },
  '/ncsi.txt': { who: 'Windows', status: 200, contentType: 'text/plain', body: 'Microsoft NCSI' },
  '/success.txt': { who: 'Firefox', status: 200, contentType: 'text/plain', body: 'success\n' },
};
