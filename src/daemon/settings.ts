import type { GatehouseConfig } from '../config/index.js';
import type { DaemonSettings } from './daemon.js';

/** The daemon works in its own words (camelCase, milliseconds); the config keeps the admin's. */
export function settingsFromConfig(c: GatehouseConfig): DaemonSettings {
  return {
    dataDir: c.data_dir,
    logLevel: c.log_level,
    api: { socket: c.api.socket, listen: c.api.listen, tokenSha256: c.api.token_sha256 },
    lan: c.interfaces.lan,
    wan: c.interfaces.wan,
    firewall: {
      table: c.firewall.table,
      inbound: c.firewall.inbound,
      outbound: c.firewall.outbound,
      hitPollMs: c.firewall.hit_poll_interval,
      blockRetentionMs: c.firewall.block_event_retention,
      expireMs: c.firewall.expire_interval,
    },
    clientNames: new Map(c.clients.names.map((n) => [n.mac.toLowerCase(), n.name])),
    dhcpLeases: c.clients.dhcp_leases,
    source: c,
  };
}
