import { html, jsonAttr, type Html } from '../html.js';

export type Tab = 'overview' | 'blocks' | 'decisions' | 'clients';

const TABS: readonly [Tab, string, string][] = [
  ['overview', '/', 'Overview'],
  ['blocks', '/blocks', 'Blocks'],
  ['decisions', '/decisions', 'Decisions'],
  ['clients', '/clients', 'Clients'],
];

/**
 * Every page: the nav, the CSRF token htmx sends with each request (hx-headers), and the scripts, all
 * served by the daemon (no CDN). No inline script: the Content-Security-Policy allows only 'self'.
 */
export function layout(o: { title: string; tab: Tab | undefined; csrf?: string; admin?: string; body: Html; chart?: boolean }): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}'>
<title>${o.title} · Gatehouse</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/htmx.min.js" defer></script>
${o.chart ? html`<script src="/assets/chart.umd.min.js" defer></script>` : ''}
<script src="/assets/app.js" defer></script>
</head>
<body${o.csrf ? html` hx-headers="${jsonAttr({ 'X-CSRF-Token': o.csrf })}"` : ''}>
<header>
  <strong class="brand">Gatehouse</strong>
  ${o.tab !== undefined
    ? html`<nav>${TABS.map(([t, href, label]) => html`<a href="${href}"${t === o.tab ? html` class="on" aria-current="page"` : ''}>${label}</a>`)}</nav>
  <form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${o.csrf ?? ''}"><button title="${o.admin ?? ''}">Log out</button></form>`
    : ''}
</header>
<main>
${o.body}
</main>
</body></html>`;
}

export function loginPage(error?: string): Html {
  return layout({
    title: 'Log in',
    tab: undefined,
    body: html`<form method="post" action="/login" class="login card">
  <h1>Log in</h1>
  ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
  <label>Admin <input name="name" autocomplete="username" required autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Log in</button>
</form>`,
  });
}
