import type { BlockSummary, FeedStatus } from '../../api/index.js';
import type { LapiBouncer, LapiMachine } from '../../store/index.js';
import { ago, html, jsonAttr, type Html } from '../html.js';

/** Panels other modules contribute, read from their own API routes when they run. */
export interface ModulePanels {
  readonly dns?: Readonly<Record<string, unknown>>;
  readonly portal?: readonly Readonly<Record<string, unknown>>[];
  readonly shaper?: readonly Readonly<Record<string, unknown>>[];
}

/** 24 hourly buckets ending with the current hour, per direction, for the chart. */
export function hourlySeries(s: BlockSummary, now = Date.now()): { labels: string[]; inbound: number[]; outbound: number[] } {
  const last = Math.floor(now / 3600_000) * 3600_000;
  const hours = Array.from({ length: 24 }, (_, i) => last - (23 - i) * 3600_000);
  const at = new Map(s.hourly.map((h) => [`${h.direction}:${h.hour}`, h.count]));
  return {
    labels: hours.map((h) => new Date(h).toISOString().slice(11, 16)),
    inbound: hours.map((h) => at.get(`inbound:${h}`) ?? 0),
    outbound: hours.map((h) => at.get(`outbound:${h}`) ?? 0),
  };
}

const bytes = (n: unknown) => (typeof n === 'number' ? (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`) : '—');
const rate = (n: unknown) => (typeof n === 'number' ? `${(n / 1e6).toFixed(1)} Mbit/s` : '—');

function dnsPanel(d: Readonly<Record<string, unknown>>): Html {
  const t = (d.totals ?? {}) as { queries?: number; blocked?: number; cached?: number; servfail?: number };
  const q = t.queries ?? 0;
  const pct = (n: number | undefined) => (q > 0 && n !== undefined ? `${((100 * n) / q).toFixed(1)} %` : '—');
  const rules = (d.domainIndex as { rules?: number } | undefined)?.rules;
  return html`<section class="card"><h2>DNS filter</h2><dl class="kv">
<dt>queries since start</dt><dd>${q}</dd>
<dt>blocked</dt><dd>${t.blocked ?? 0} (${pct(t.blocked)})</dd>
<dt>from the cache</dt><dd>${pct(t.cached)}</dd>
<dt>failed upstream</dt><dd>${t.servfail ?? 0}</dd>
<dt>queries/s now</dt><dd>${typeof d.qps === 'number' ? d.qps.toFixed(1) : '—'}</dd>
<dt>listed names</dt><dd>${rules ?? '—'}</dd>
<dt>answer check</dt><dd>${String(d.answerCheck ?? '—')}</dd>
</dl></section>`;
}

export function overviewPage(o: { summary: BlockSummary; feeds: readonly FeedStatus[]; bouncers: readonly LapiBouncer[]; machines: readonly LapiMachine[]; panels: ModulePanels }): Html {
  const s = o.summary;
  const series = hourlySeries(s);
  const total = (d: 'inbound' | 'outbound') => (d === 'inbound' ? series.inbound : series.outbound).reduce((a, b) => a + b, 0);
  return html`<h1>Overview</h1>
<div class="grid">
<section class="card wide"><h2>Blocks, last 24 h <span class="muted">outbound ${total('outbound')} · inbound ${total('inbound')}</span></h2>
<div class="chart"><canvas id="blocks-chart" data-chart="${jsonAttr(series)}" aria-label="blocks per hour"></canvas></div></section>
<section class="card"><h2>Clients with most outbound blocks</h2>
${s.topClients.length ? html`<ol>${s.topClients.map((c) => html`<li><a href="/blocks?client=${encodeURIComponent(c.clientIp)}">${c.clientName ?? c.clientIp}</a> <span class="muted">${c.clientName ? c.clientIp : ''}</span> · ${c.count} attempts${c.remotes !== null ? ` to ${c.remotes} remotes` : ''}</li>`)}</ol>` : html`<p class="muted">None in 24 h.</p>`}
</section>
<section class="card"><h2>Most-hit remotes${s.remotesAsOf && Date.now() - s.remotesAsOf > 5000 ? html` <span class="muted">counted ${ago(s.remotesAsOf)}</span>` : ''}</h2>
${s.topRemotes.length ? html`<ol>${s.topRemotes.map((r) => html`<li><a href="/blocks?remote=${encodeURIComponent(r.remoteIp)}" class="mono">${r.remoteIp}</a>${r.domain ? html` (${r.domain})` : ''} · ${r.direction} · ${r.count}× by ${r.clients} clients</li>`)}</ol>` : html`<p class="muted">None in 24 h.</p>`}
</section>
<section class="card"><h2>Feeds</h2>
${o.feeds.length ? html`<table><thead><tr><th>Feed</th><th>Entries</th><th>Last refresh</th><th></th></tr></thead><tbody>${o.feeds.map((f) => html`<tr><td>${f.name}<br><span class="muted">${f.type} · ${f.direction}</span></td><td>${f.entries}</td><td>${f.lastSuccessAt ? ago(f.lastSuccessAt) : 'never'}</td><td>${f.warning ? html`<span class="error">${f.warning}</span>` : html`<span class="ok">ok</span>`}</td></tr>`)}</tbody></table>` : html`<p class="muted">No feeds configured.</p>`}
</section>
<section class="card"><h2>CrowdSec peers</h2>
<h3>Bouncers</h3>${o.bouncers.length ? html`<ul>${o.bouncers.map((b) => html`<li>${b.name} <span class="muted">${b.type} ${b.version} · ${b.ipAddress}</span> · last pull ${b.lastPull ? ago(b.lastPull) : 'never'}</li>`)}</ul>` : html`<p class="muted">None registered.</p>`}
<h3>Watchers</h3>${o.machines.length ? html`<ul>${o.machines.map((m) => html`<li>${m.machineId} <span class="muted">${m.ipAddress}</span> · heartbeat ${m.lastHeartbeat ? ago(m.lastHeartbeat) : 'never'}</li>`)}</ul>` : html`<p class="muted">None registered.</p>`}
</section>
${o.panels.dns ? dnsPanel(o.panels.dns) : ''}
${o.panels.portal
  ? html`<section class="card"><h2>Portal sessions</h2>${o.panels.portal.length ? html`<table><thead><tr><th>User</th><th>Device</th><th>Down/Up</th><th>State</th></tr></thead><tbody>${o.panels.portal.map((p) => {
      const dev = (p.device ?? {}) as { mac?: string; ipv4?: string[] };
      return html`<tr><td>${String(p.user ?? '')}</td><td class="mono">${dev.mac ?? ''}<br>${(dev.ipv4 ?? []).join(' ')}</td><td>${bytes(p.bytesDown)} / ${bytes(p.bytesUp)}</td><td>${String(p.state ?? '')}</td></tr>`;
    })}</tbody></table>` : html`<p class="muted">No one signed in.</p>`}</section>`
  : ''}
${o.panels.shaper
  ? html`<section class="card"><h2>Bandwidth per client</h2>${o.panels.shaper.length ? html`<table><thead><tr><th>Client</th><th>Down</th><th>Up</th><th>Today</th></tr></thead><tbody>${o.panels.shaper.map((c) => {
      const today = (c.bytesToday ?? {}) as { down?: number; up?: number };
      return html`<tr><td>${String(c.user ?? c.mac ?? c.key ?? '')}<br><span class="muted mono">${((c.ips ?? []) as string[]).join(' ')}</span></td><td>${rate(c.downBps)}</td><td>${rate(c.upBps)}</td><td>${bytes(today.down)} / ${bytes(today.up)}</td></tr>`;
    })}</tbody></table>` : html`<p class="muted">No traffic shaped now.</p>`}</section>`
  : ''}
</div>`;
}
