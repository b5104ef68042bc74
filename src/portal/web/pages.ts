import type { AuthMethod, SessionView } from '../types.js';
import type { OwnBlock } from './blocks-view.js';
import { html, page, type Html } from './html.js';
import { fill, type PortalTexts } from './texts.js';

/** What every form on a page needs: the CSRF field and where to go after login. */
export interface FormContext {
  readonly csrf: string;
  readonly to?: { readonly url: string; readonly sig: string };
}

function hidden(f: FormContext): Html {
  return html`<input type="hidden" name="csrf" value="${f.csrf}">${f.to ? html`<input type="hidden" name="to" value="${f.to.url}"><input type="hidden" name="sig" value="${f.to.sig}">` : ''}`;
}

function notice(kind: 'error' | 'ok', text: string | undefined): Html {
  return text ? html`<p class="${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</p>` : html``;
}

export function loginPage(t: PortalTexts, lang: string, methods: readonly AuthMethod[], f: FormContext, error?: string, prefill?: { username?: string }, ended?: string): string {
  const forms: Html[] = [];
  if (methods.includes('accounts')) {
    forms.push(html`<form class="card" method="post" action="/login">${hidden(f)}<input type="hidden" name="method" value="accounts">
<label for="username">${t.username}</label><input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" required value="${prefill?.username ?? ''}">
<label for="password">${t.password}</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">${t.login}</button></form>`);
  }
  if (methods.includes('vouchers')) {
    forms.push(html`<form class="card" method="post" action="/login">${hidden(f)}<input type="hidden" name="method" value="vouchers">
<label for="voucher">${t.voucher}</label><input type="text" id="voucher" name="voucher" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" required>
<button type="submit">${t.voucher_login}</button></form>`);
  }
  if (methods.includes('click_through')) {
    forms.push(html`<form class="card" method="post" action="/login">${hidden(f)}<input type="hidden" name="method" value="click_through">
<p>${t.terms}</p><button type="submit">${t.accept}</button></form>`);
  }
  const joined = forms.flatMap((form, i) => (i === 0 ? [form] : [html`<p class="or">${t.or}</p>`, form]));
  const why = ended ? html`<p class="info" role="status" id="ended">${ended}</p>` : html``;
  return page({ lang, title: t.title, body: html`<h1>${t.title}</h1>${why}${notice('error', error)}<p>${t.intro}</p>${joined}` });
}

export function messagePage(t: PortalTexts, lang: string, opts: { title?: string; ok?: string; error?: string; links?: readonly { href: string; text: string }[] }): string {
  const links = (opts.links ?? []).map((l) => html`<p><a href="${l.href}">${l.text}</a></p>`);
  return page({ lang, title: opts.title ?? t.title, body: html`<h1>${opts.title ?? t.title}</h1>${notice('ok', opts.ok)}${notice('error', opts.error)}${links}` });
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h >= 48) return `${Math.floor(h / 24)} d ${h % 24} h`;
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

function when(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

export interface StatusModel {
  readonly session: SessionView;
  readonly devices: readonly { readonly session: SessionView; readonly name: string; readonly current: boolean }[];
  readonly blocks?: readonly OwnBlock[];
  /** Undefined: the DNS filter is not running, so there is no switch. */
  readonly adsBlocked?: boolean;
  readonly now: number;
}

export function statusPage(t: PortalTexts, lang: string, m: StatusModel, f: FormContext): string {
  const s = m.session;
  const left = (v: number | undefined) => (v === undefined ? t.unlimited : formatBytes(v));
  const devices = m.devices.map(
    (d) => html`<li><strong>${d.name}</strong>${d.current ? html` <small>(${t.this_device})</small>` : ''}<br><small>${[d.session.device.mac, ...d.session.device.ipv4, ...d.session.device.ipv6].join(' · ')} — ${formatBytes(d.session.bytesDown)} / ${formatBytes(d.session.bytesUp)}</small></li>`,
  );
  const blocks = m.blocks
    ? html`<section><h2>${t.blocks_title}</h2>${
        m.blocks.length === 0
          ? html`<p>${t.blocks_none}</p>`
          : html`<ul>${m.blocks.map(
              (b) => html`<li class="block"><strong>${b.device}</strong> ${t.block_tried} ${b.remote}${b.domain ? ` (${b.domain})` : ''}${b.port ? `, port ${b.port}/${b.protocol}` : ''}, ${
                b.lists.length > 0 ? html`${t.block_listed} ${b.lists.map((l) => `${l.origin === 'manual' ? t.block_by_admin : l.origin}${l.reason ? ` (${l.reason})` : ''}`).join(', ')}` : t.block_gone
              }.<br><small>${fill(t.block_times, b.count)} ${when(b.lastSeen)}</small></li>`,
            )}</ul>`
      }</section>`
    : html``;
  const ads =
    m.adsBlocked === undefined
      ? html``
      : html`<section><h2>${t.ads_title}</h2><p>${m.adsBlocked ? t.ads_on : t.ads_off}</p><form method="post" action="/status/ads">${hidden(f)}<input type="hidden" name="block" value="${m.adsBlocked ? 'off' : 'on'}"><button type="submit" class="secondary">${m.adsBlocked ? t.ads_turn_off : t.ads_turn_on}</button></form></section>`;
  const body = html`<h1>${t.status_title}</h1><section><p>${t.logged_in} <small>(${s.user})</small></p><dl>
<dt>${t.time_left}</dt><dd id="time-left">${formatDuration(s.endsAt - m.now)}</dd>
<dt>${t.download_left}</dt><dd id="download-left">${left(s.downloadLeft)}</dd>
<dt>${t.upload_left}</dt><dd id="upload-left">${left(s.uploadLeft)}</dd>
<dt>${t.used}</dt><dd>${formatBytes(s.bytesDown)} / ${formatBytes(s.bytesUp)}</dd></dl>
<form method="post" action="/logout">${hidden(f)}<button type="submit">${t.logout}</button></form></section>
<section><h2>${t.devices}</h2><ul>${devices}</ul></section>${blocks}${ads}`;
  return page({ lang, title: t.status_title, body });
}
