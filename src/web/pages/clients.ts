import type { ClientBlockCount } from '../../store/index.js';
import type { LanDevice } from '../../clients/index.js';
import { ago, html, type Html } from '../html.js';

/** What the Clients page shows of a device: the clients module's LanDevice, as its API sends it. */
export type DeviceView = LanDevice;

export function clientsPage(o: { devices: readonly DeviceView[] | undefined; blocks: readonly ClientBlockCount[] }): Html {
  const blocked = new Map(o.blocks.map((c) => [c.clientIp, c.count]));
  return html`<h1>Clients</h1>
<div id="panel" aria-live="polite"></div>
${o.devices === undefined
  ? html`<p class="muted">The clients module does not answer.</p>`
  : html`<div class="scroll"><table><thead><tr><th>Name</th><th>MAC</th><th>Addresses</th><th>Portal user</th><th>DNS group</th><th>Outbound blocks 24 h</th><th>Seen</th></tr></thead><tbody>
${o.devices.map((d) => {
  const n = [...d.ipv4, ...d.ipv6].reduce((a, ip) => a + (blocked.get(ip) ?? 0), 0);
  return html`<tr><td><form hx-post="/ui/clients/rename" hx-target="#panel" class="rename"><input type="hidden" name="mac" value="${d.mac}"><input name="name" value="${d.name ?? ''}" placeholder="unnamed" aria-label="name of ${d.mac}" size="14"><button>Rename</button></form></td><td class="mono">${d.mac}</td><td class="mono">${[...d.ipv4, ...d.ipv6].join(' ')}</td><td>${d.portalUser ?? '—'}</td><td>${d.dnsGroup ?? '—'}</td>
<td>${n ? html`<a href="/blocks?client=${encodeURIComponent(d.mac)}">${n}</a>` : '0'}</td><td>${ago(d.lastSeen)}</td></tr>`;
})}
</tbody></table></div>
<p class="muted">Names come from <code>clients.names</code> in the config; a rename here overrides it for that device.</p>`}`;
}
