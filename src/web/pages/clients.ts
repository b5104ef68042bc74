import type { PortalSessionView, ShapedClient } from '../../api/index.js';
import type { ClientBlockCount } from '../../store/index.js';
import type { LanDevice } from '../../clients/index.js';
import { ago, html, type Html } from '../html.js';
import { bitRate, bytes } from './module-panels.js';

/** Traffic of a device as the shaper counts it; `share` names a user's share when it covers all their devices. */
export interface DeviceUsage {
  readonly down: number;
  readonly up: number;
  readonly downBps: number;
  readonly upBps: number;
  readonly share?: string;
}

/** What the Clients page shows of a device: the clients module's LanDevice, with what the other modules know of it. */
export interface DeviceView extends LanDevice {
  readonly usage?: DeviceUsage;
}

/**
 * The clients module's devices with the portal user signed in on each (its session, by MAC or address), the DNS
 * group whose policy applies (by MAC, from the dns module's own group rules) and the shaper's bytes today.
 */
export function deviceViews(
  devices: readonly LanDevice[],
  o: { readonly sessions?: readonly PortalSessionView[]; readonly shaped?: readonly ShapedClient[]; readonly dnsGroups?: ReadonlyMap<string, string> },
): DeviceView[] {
  return devices.map((d) => {
    const ips = new Set([...d.ipv4, ...d.ipv6]);
    const session = o.sessions?.find((s) => s.state !== 'ended' && (s.device.mac === d.mac || [...s.device.ipv4, ...s.device.ipv6].some((ip) => ips.has(ip))));
    const share = o.shaped?.find((c) => c.mac === d.mac || c.ips.some((ip) => ips.has(ip)));
    const group = o.dnsGroups?.get(d.mac);
    return {
      ...d,
      ...(d.portalUser === undefined && session ? { portalUser: session.user } : {}),
      ...(d.dnsGroup === undefined && group !== undefined ? { dnsGroup: group } : {}),
      ...(share
        ? { usage: { down: share.bytesToday.down, up: share.bytesToday.up, downBps: share.downBps, upBps: share.upBps, ...(share.key.startsWith('user:') ? { share: share.key.slice(5) } : {}) } }
        : {}),
    };
  });
}

export function clientsPage(o: { devices: readonly DeviceView[] | undefined; blocks: readonly ClientBlockCount[]; shaper?: boolean }): Html {
  const blocked = new Map(o.blocks.map((c) => [c.clientIp, c.count]));
  return html`<h1>Clients</h1>
<div id="panel" aria-live="polite"></div>
${o.devices === undefined
  ? html`<p class="muted">The clients module does not answer.</p>`
  : html`<div class="scroll"><table id="devices"><thead><tr><th>Name</th><th>MAC</th><th>Addresses</th><th>Portal user</th><th>DNS group</th>${o.shaper ? html`<th>Today down / up</th>` : ''}<th>Outbound blocks 24 h</th><th>Seen</th></tr></thead><tbody>
${o.devices.map((d) => {
  const n = [...d.ipv4, ...d.ipv6].reduce((a, ip) => a + (blocked.get(ip) ?? 0), 0);
  const u = d.usage;
  return html`<tr data-mac="${d.mac}"><td><form hx-post="/ui/clients/rename" hx-target="#panel" class="rename"><input type="hidden" name="mac" value="${d.mac}"><input name="name" value="${d.name ?? ''}" placeholder="unnamed" aria-label="name of ${d.mac}" size="14"><button>Rename</button></form></td><td class="mono">${d.mac}</td><td class="mono">${[...d.ipv4, ...d.ipv6].join(' ')}</td><td data-k="user">${d.portalUser ?? '—'}</td><td data-k="group">${d.dnsGroup ?? '—'}</td>
${o.shaper ? html`<td data-k="usage">${u ? html`${bytes(u.down)} / ${bytes(u.up)}${u.downBps + u.upBps > 0 ? html`<br><span class="muted">now ${bitRate(u.downBps)} / ${bitRate(u.upBps)}</span>` : ''}${u.share ? html`<br><span class="muted">all of ${u.share}'s devices</span>` : ''}` : '—'}</td>` : ''}
<td>${n ? html`<a href="/blocks?client=${encodeURIComponent(d.mac)}">${n}</a>` : '0'}</td><td>${ago(d.lastSeen)}</td></tr>`;
})}
</tbody></table></div>
<p class="muted">Names come from <code>clients.names</code> in the config; a rename here overrides it for that device.</p>`}`;
}
