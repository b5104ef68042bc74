import type { BlockEvent, DecisionRef, ExplainResponse } from '../../api/index.js';
import type { BlockHit } from '../../store/index.js';
import { ago, html, when, type Html } from '../html.js';
import { banForm } from './decisions.js';

export interface BlockFilters {
  readonly direction?: string;
  readonly client?: string;
  readonly remote?: string;
  readonly since?: string;
}

/** Identifies a row across the report and the live stream, so a live update replaces the row it counts for. */
export function rowKey(b: { direction: string; clientIp: string; remoteIp: string; protocol: string; port: number; mode: string }): string {
  return [b.direction, b.clientIp, b.remoteIp, b.protocol, b.port, b.mode].join('|');
}

function why(ds: readonly DecisionRef[], domain: string | null | undefined): Html {
  const d = ds[0];
  return html`<div class="why">${d
    ? html`<span class="reason">${d.reason || '(no reason)'}</span> <span class="tag">${d.origin}</span>${d.scenario && d.scenario !== d.origin ? html` <span class="tag">${d.scenario}</span>` : ''}${ds.length > 1 ? html` <span class="muted">+${ds.length - 1} more</span>` : ''}`
    : html`<span class="muted">decision gone</span>`}${domain ? html`<div class="domain">looked up as <b>${domain}</b></div>` : ''}</div>`;
}

function client(b: { clientIp: string; clientName: string | null; clientMac: string | null }): Html {
  return html`<div>${b.clientName ? html`<b>${b.clientName}</b><br>` : ''}<span class="mono">${b.clientIp}</span>${b.clientMac ? html`<br><span class="muted mono">${b.clientMac}</span>` : ''}</div>`;
}

function actions(remote: string, ds: readonly DecisionRef[]): Html {
  const v = JSON.stringify({ value: remote });
  return html`<div class="actions">
<button hx-get="/ui/explain?value=${encodeURIComponent(remote)}" hx-target="#panel">Explain</button>
<button hx-post="/ui/allow" hx-vals="${v}" hx-target="#panel" hx-confirm="Allow ${remote}? Every decision covering it stops applying.">Allow</button>
${ds[0] ? html`<button hx-post="/ui/decisions/${ds[0].id}/delete" hx-target="#panel" class="danger">Delete decision</button>` : ''}
</div>`;
}

export function blockRow(b: BlockEvent): Html {
  return html`<tr data-key="${rowKey(b)}" data-remote="${b.remoteIp}">
<td data-label="Last seen" title="first ${when(b.firstSeen)}">${ago(b.lastSeen)}</td>
<td data-label="Direction"><span class="dir ${b.direction}">${b.direction}</span>${b.mode === 'monitored' ? html` <span class="tag">monitor</span>` : ''}</td>
<td data-label="Client">${client(b)}</td>
<td data-label="Remote" class="mono">${b.remoteIp}<br><span class="muted">${b.protocol}/${b.port}</span></td>
<td data-label="Why">${why(b.decisions, b.domain)}</td>
<td data-label="Attempts">${b.count}</td>
<td>${actions(b.remoteIp, b.decisions)}</td>
</tr>`;
}

/** A row for a hit the collector just recorded (its counts are the new attempts only). */
export function liveRow(h: BlockHit): Html {
  return html`<tr data-key="${rowKey(h)}" data-remote="${h.remoteIp}" class="live">
<td data-label="Last seen">just now</td>
<td data-label="Direction"><span class="dir ${h.direction}">${h.direction}</span>${h.mode === 'monitored' ? html` <span class="tag">monitor</span>` : ''}</td>
<td data-label="Client">${client(h)}</td>
<td data-label="Remote" class="mono">${h.remoteIp}<br><span class="muted">${h.protocol}/${h.port}</span></td>
<td data-label="Why">${why(h.decisions, h.domain)}</td>
<td data-label="Attempts">+${h.packets}</td>
<td>${actions(h.remoteIp, h.decisions)}</td>
</tr>`;
}

export function blocksPage(o: { blocks: readonly BlockEvent[]; filters: BlockFilters; next?: string; error?: string }): Html {
  const f = o.filters;
  const qs = (extra: Record<string, string>) =>
    new URLSearchParams(Object.entries({ ...f, ...extra }).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '')).toString();
  const live = !f.client && !f.remote && !o.filters.since;
  return html`<h1>Blocks</h1>
<form method="get" action="/blocks" class="filters card">
  <label>Direction <select name="direction">
    ${['', 'outbound', 'inbound'].map((d) => html`<option value="${d}"${f.direction === d ? html` selected` : ''}>${d || 'both'}</option>`)}
  </select></label>
  <label>Client <input name="client" value="${f.client ?? ''}" placeholder="IP, MAC or name"></label>
  <label>Remote <input name="remote" value="${f.remote ?? ''}" placeholder="IP"></label>
  <label>Since <input name="since" value="${f.since ?? ''}" placeholder="24h" size="5"></label>
  <button type="submit">Filter</button>
</form>
${banForm('Ban a remote by hand')}
<div id="panel" aria-live="polite">${o.error ? html`<p class="error">${o.error}</p>` : ''}</div>
<p class="muted" id="live-note">${live ? 'New blocks appear here as they happen.' : 'Filtered: live updates off.'}</p>
<div class="scroll"><table class="blocks">
<thead><tr><th>Last seen</th><th>Direction</th><th>Client</th><th>Remote</th><th>Why</th><th>Attempts</th><th></th></tr></thead>
<tbody id="blocks-body"${live ? html` data-live="/live${f.direction ? `?direction=${f.direction}` : ''}"` : ''}>
${o.blocks.map(blockRow)}
</tbody></table></div>
${o.blocks.length === 0 ? html`<p class="muted" id="empty">No blocks${live ? ' yet' : ' match'}.</p>` : ''}
${o.next ? html`<p><a href="/blocks?${qs({ before: o.next })}">Older →</a></p>` : ''}`;
}

export function explainFragment(r: ExplainResponse): Html {
  const allowVals = JSON.stringify({ value: r.value });
  return html`<section class="card explain" id="explain">
<h2>Why <span class="mono">${r.value}</span>: <span class="verdict ${r.verdict.replace(' ', '-')}">${r.verdict}</span></h2>
${r.decisions.length
  ? html`<h3>Decisions covering it</h3><ul>${r.decisions.map(
      (d) => html`<li><span class="mono">${d.value}</span> ${d.direction} · <span class="tag">${d.origin}</span>${d.scenario ? html` <span class="tag">${d.scenario}</span>` : ''} · ${d.reason || '(no reason)'} · ${d.expiresAt ? html`until ${when(d.expiresAt)}` : 'no expiry'}
       <button hx-post="/ui/decisions/${d.id}/delete" hx-target="#panel" class="danger">Delete</button></li>`,
    )}</ul>`
  : html`<p>No decision covers it.</p>`}
${r.allow.length ? html`<h3>Allow entries covering it</h3><ul>${r.allow.map((a) => html`<li><span class="mono">${a.value}</span> · ${a.reason || '(no reason)'} <button hx-post="/ui/allow/${a.id}/delete" hx-target="#panel">Remove</button></li>`)}</ul>` : ''}
${r.domains.length ? html`<h3>Looked up as</h3><ul>${r.domains.map((d) => html`<li><b>${d.domain}</b> by ${d.clients.join(', ')}</li>`)}</ul>` : ''}
${r.blocks.length ? html`<h3>LAN clients that hit it</h3><ul>${r.blocks.map((b) => html`<li>${b.clientName ?? ''} <span class="mono">${b.clientIp}</span> · ${b.direction} ${b.protocol}/${b.port} · ${b.count}× · last ${ago(b.lastSeen)}</li>`)}</ul>` : ''}
${r.asClient.length ? html`<h3>What it hit as a LAN client</h3><ul>${r.asClient.map((b) => html`<li><span class="mono">${b.remoteIp}</span> ${b.protocol}/${b.port} · ${b.count}×</li>`)}</ul>` : ''}
<div class="actions">
${r.verdict !== 'allowed' ? html`<button hx-post="/ui/allow" hx-vals="${allowVals}" hx-target="#panel">Allow ${r.value}</button>` : ''}
<button hx-post="/ui/decisions" hx-vals="${allowVals}" hx-target="#panel" class="danger">Ban ${r.value}</button>
</div>
</section>`;
}

/** The answer to an action: what happened, in one line, and the link to look again. */
export function notice(ok: boolean, text: string, value?: string): Html {
  return html`<p class="${ok ? 'ok' : 'error'}" role="status">${text}${value ? html` <button hx-get="/ui/explain?value=${encodeURIComponent(value)}" hx-target="#panel">Explain ${value}</button>` : ''}</p>`;
}
