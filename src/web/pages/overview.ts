import type { BlockSummary, FeedStatus } from '../../api/index.js';
import type { LapiBouncer, LapiMachine } from '../../store/index.js';
import { ago, html, jsonAttr, type Html } from '../html.js';
import { modulePanels, type ModulePanels } from './module-panels.js';

export type { ModulePanels } from './module-panels.js';

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
${modulePanels(o.panels)}
</div>`;
}
