import type { AllowEntry, Decision } from '../../api/index.js';
import { html, when, type Html } from '../html.js';

export function decisionRows(ds: readonly Decision[]): Html {
  return html`${ds.map(
    (d) => html`<tr><td class="mono">${d.value}</td><td>${d.direction}</td><td><span class="tag">${d.origin}</span>${d.scenario ? html` <span class="tag">${d.scenario}</span>` : ''}</td><td>${d.reason}</td><td>${d.expiresAt ? when(d.expiresAt) : 'never'}</td>
<td><button hx-post="/ui/decisions/${d.id}/delete" hx-target="#panel" class="danger">Delete</button></td></tr>`,
  )}`;
}

/** The manual-ban form (Decisions and Blocks pages): posts to /ui/decisions, the answer lands in #panel. */
export function banForm(summary: string): Html {
  return html`<details class="card"><summary>${summary}</summary>
<form hx-post="/ui/decisions" hx-target="#panel" class="filters">
  <label>IP or CIDR <input name="value" required></label>
  <label>Direction <select name="direction"><option>both</option><option>outbound</option><option>inbound</option></select></label>
  <label>Duration <input name="duration" placeholder="never" size="6"></label>
  <label>Reason <input name="reason"></label>
  <button type="submit" class="danger">Ban</button>
</form></details>`;
}

export function decisionsPage(o: { decisions: readonly Decision[]; allow: readonly AllowEntry[]; q: { value?: string; origin?: string }; error?: string }): Html {
  return html`<h1>Decisions and allowlist</h1>
<form method="get" action="/decisions" class="filters card">
  <label>IP or CIDR <input name="value" value="${o.q.value ?? ''}" placeholder="covering or covered"></label>
  <label>Origin <input name="origin" value="${o.q.origin ?? ''}" placeholder="manual, feed:…, crowdsec"></label>
  <button type="submit">Search</button>
</form>
${banForm('Add a decision')}
<div id="panel" aria-live="polite">${o.error ? html`<p class="error">${o.error}</p>` : ''}</div>
<h2>Decisions <span class="muted">${o.decisions.length === 200 ? 'the first 200: search to narrow' : `${o.decisions.length}`}</span></h2>
<div class="scroll"><table><thead><tr><th>Value</th><th>Direction</th><th>Origin</th><th>Reason</th><th>Expires</th><th></th></tr></thead>
<tbody>${decisionRows(o.decisions)}</tbody></table></div>
<h2>Allowlist</h2>
<form hx-post="/ui/allow" hx-target="#panel" class="filters card">
  <label>IP or CIDR <input name="value" required></label>
  <label>Reason <input name="reason"></label>
  <label>Duration <input name="duration" placeholder="never" size="6"></label>
  <button type="submit">Allow</button>
</form>
<div class="scroll"><table><thead><tr><th>Value</th><th>Reason</th><th>Expires</th><th></th></tr></thead><tbody>
${o.allow.map((a) => html`<tr><td class="mono">${a.value}</td><td>${a.reason}</td><td>${a.expiresAt ? when(a.expiresAt) : 'never'}</td><td><button hx-post="/ui/allow/${a.id}/delete" hx-target="#panel">Remove</button></td></tr>`)}
</tbody></table></div>`;
}
