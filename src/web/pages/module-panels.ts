import type { DnsQueryRow, DnsStatus, DnsTopResponse, PortalSessionView, PortalUser, PortalVoucher, ShapedClient } from '../../api/index.js';
import { ago, html, type Html } from '../html.js';

/*
 * The Overview's panels that other modules contribute, each drawn from the answers of that module's own API
 * routes (GET /v1/dns/status, /v1/portal/sessions|vouchers|users, /v1/shaper/status; the DNS lists from
 * /v1/dns/top|log through /ui/dns-lists), present only when the module runs.
 */

export interface ModulePanels {
  readonly dns?: { readonly status: DnsStatus };
  readonly portal?: { readonly sessions: readonly PortalSessionView[]; readonly vouchers?: readonly PortalVoucher[]; readonly accounts?: readonly PortalUser[] };
  readonly shaper?: { readonly clients: readonly ShapedClient[] };
}

/** What the DNS panel shows of the query log; fetched after the page, as a listing over a big log can take a while. */
export interface DnsLists {
  readonly top?: DnsTopResponse;
  readonly blocked?: readonly DnsQueryRow[];
  readonly recent?: readonly DnsQueryRow[];
  /** LAN device names by address (the clients module's), for rows logged before the resolver knew the device. */
  readonly names?: ReadonlyMap<string, string>;
}

/** Bytes as ISP plans count them (powers of 1000), like `gatehouse shaper status`. */
export function bytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${Math.round(n / 1e3)} kB`;
  return `${n} B`;
}

/** Bits per second, as the shaper's rates are set. */
export function bitRate(bps: number): string {
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  if (bps >= 1e3) return `${Math.round(bps / 1e3)} kbit/s`;
  return `${Math.round(bps)} bit/s`;
}

const pct = (n: number, of: number) => (of > 0 ? `${((100 * n) / of).toFixed(1)} %` : '—');

function queryTable(rows: readonly DnsQueryRow[], cls: string, none: string, names: ReadonlyMap<string, string> | undefined): Html {
  if (rows.length === 0) return html`<p class="muted">${none}</p>`;
  return html`<div class="scroll"><table class="${cls}"><thead><tr><th>When</th><th>Client</th><th>Name</th><th>Answer</th></tr></thead><tbody>${rows.map(
    (q) =>
      html`<tr${q.blocked ? html` class="blocked"` : ''}><td>${ago(q.time)}</td><td>${q.clientName ?? (q.client ? (names?.get(q.client) ?? q.client) : 'anonymous')}</td><td class="mono">${q.name} <span class="muted">${q.type}</span></td><td>${q.blocked ? html`<span class="error">blocked (${q.blocked.by}: ${q.blocked.what})</span>` : (q.answer ?? q.rcodeName)}</td></tr>`,
  )}</tbody></table></div>`;
}

function dnsPanel(d: NonNullable<ModulePanels['dns']>): Html {
  const t = d.status.totals;
  return html`<section class="card wide" id="dns-panel"><h2>DNS filter</h2><dl class="kv">
<dt>queries since start</dt><dd data-k="queries">${t.queries}</dd>
<dt>blocked</dt><dd data-k="blocked">${t.blocked} (${pct(t.blocked, t.queries)})</dd>
<dt>from the cache</dt><dd>${pct(t.cached, t.queries)}</dd>
<dt>failed upstream</dt><dd>${t.servfail}</dd>
<dt>queries/s now</dt><dd>${d.status.qps.toFixed(1)}</dd>
<dt>listed names</dt><dd>${d.status.domainIndex.rules}</dd>
<dt>answer check</dt><dd>${d.status.answerCheck}</dd>
</dl>
<div id="dns-lists" hx-get="/ui/dns-lists" hx-trigger="load" hx-swap="innerHTML"><p class="muted">Reading the query log…</p></div>
</section>`;
}

/** The DNS panel's lists from the query log: top names and blocked names over 24 h, the last blocked and asked queries. */
export function dnsListsFragment(d: DnsLists): Html {
  const top = d.top;
  return html`${top
  ? html`<h3>Most blocked names, 24 h</h3>${top.blocked.length ? html`<ol class="top-blocked">${top.blocked.map((n) => html`<li><span class="mono">${n.name}</span> · ${n.count}×</li>`)}</ol>` : html`<p class="muted">None blocked.</p>`}
<h3>Most asked names, 24 h</h3>${top.names.length ? html`<ol>${top.names.map((n) => html`<li><span class="mono">${n.name}</span> · ${n.count}×</li>`)}</ol>` : html`<p class="muted">No queries logged.</p>`}`
  : ''}
${d.blocked ? html`<h3>Last blocked</h3>${queryTable(d.blocked, 'dns-blocked', 'None blocked.', d.names)}` : ''}
${d.recent ? html`<h3>Last queries</h3>${queryTable(d.recent, 'dns-log', 'The query log is empty (or off: dns.query_log).', d.names)}` : ''}
${!top && !d.blocked && !d.recent ? html`<p class="muted">The query log does not answer.</p>` : ''}`;
}

function portalPanel(p: NonNullable<ModulePanels['portal']>): Html {
  const open = (p.vouchers ?? []).filter((v) => v.used < v.uses);
  const online = new Set(p.sessions.filter((s) => s.state !== 'ended').map((s) => s.user));
  const accounts = p.accounts ? p.accounts.filter((u) => online.has(u.name)).length : undefined;
  return html`<section class="card" id="portal-panel"><h2>Portal sessions</h2>
${p.accounts ? html`<p data-k="accounts">${p.accounts.length} account${p.accounts.length === 1 ? '' : 's'}, ${accounts} signed in now</p>` : ''}
${p.sessions.length
    ? html`<div class="scroll"><table><thead><tr><th>User</th><th>Device</th><th>Down / up</th></tr></thead><tbody>${p.sessions.map(
        (s) => html`<tr data-user="${s.user}"><td>${s.user}<br><span class="${s.state === 'active' ? 'muted' : 'error'}" data-k="state">${s.state}</span><span class="muted"> · ${s.method} · since ${ago(s.startedAt)}</span></td><td class="mono">${s.device.mac}<br>${[...s.device.ipv4, ...s.device.ipv6].join(' ')}</td><td>${bytes(s.bytesDown)} / ${bytes(s.bytesUp)}${s.downloadLeft !== undefined ? html`<br><span class="muted">${bytes(s.downloadLeft)} left</span>` : ''}</td></tr>`,
      )}</tbody></table></div>`
    : html`<p class="muted">No one signed in.</p>`}
${p.vouchers
  ? html`<h3>Vouchers with uses left</h3>${open.length
      ? html`<ul class="vouchers">${open.map((v) => html`<li><span class="mono">${v.prefix}…</span> · ${v.uses - v.used} of ${v.uses} left${v.firstUsedAt ? html` · first used ${ago(v.firstUsedAt)}` : ''}</li>`)}</ul>`
      : html`<p class="muted">None.</p>`}`
  : ''}
</section>`;
}

function shaperPanel(s: NonNullable<ModulePanels['shaper']>): Html {
  return html`<section class="card" id="shaper-panel"><h2>Bandwidth per client</h2>${s.clients.length
    ? html`<div class="scroll"><table><thead><tr><th>Client</th><th>Down / up now</th><th>Today down / up</th></tr></thead><tbody>${s.clients.map(
        (c) => html`<tr data-key="${c.key}"><td>${c.user ?? c.mac ?? c.key}${c.fairUse ? html` <span class="error">fair use</span>` : ''}${c.p2p ? html` <span class="error">P2P</span>` : ''}<br><span class="muted mono">${c.ips.join(' ')}</span></td><td>${bitRate(c.downBps)} / ${bitRate(c.upBps)}</td><td>${bytes(c.bytesToday.down)} / ${bytes(c.bytesToday.up)}</td></tr>`,
      )}</tbody></table></div>`
    : html`<p class="muted">No traffic shaped now.</p>`}</section>`;
}

/** The panels of the modules that run, in a fixed order. */
export function modulePanels(p: ModulePanels): Html {
  return html`${p.dns ? dnsPanel(p.dns) : ''}${p.portal ? portalPanel(p.portal) : ''}${p.shaper ? shaperPanel(p.shaper) : ''}`;
}
