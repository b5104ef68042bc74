import { z } from 'zod';
import { positiveDuration } from '../config/index.js';
import { TABLE_NAME } from './names.js';

/** enforce = drop; monitor = only record block events; off = no rules for that direction. */
export const FIREWALL_MODES = ['enforce', 'monitor', 'off'] as const;
export type FirewallMode = (typeof FIREWALL_MODES)[number];

/** The `firewall:` section. */
export const firewallSection = () =>
  z.strictObject({
    inbound: z.enum(FIREWALL_MODES).default('enforce'),
    outbound: z.enum(FIREWALL_MODES).default('enforce'),
    table: z.string().regex(TABLE_NAME, 'nft table names here use a-z, 0-9 and _, start with a letter, at most 31 characters').default('gatehouse'),
    hit_poll_interval: positiveDuration().prefault('2s'),
    block_event_retention: positiveDuration().prefault('30d'),
    /** How often expired decisions are swept (read by the decisions module too, which sweeps the store). */
    expire_interval: positiveDuration().prefault('10s'),
  });

export type FirewallConfig = z.output<ReturnType<typeof firewallSection>>;

/**
 * The firewall runs when the config has a `firewall:` section or lists `interfaces`, unless both
 * directions are `off`. A config with neither (only `lapi:`, say) never touches nftables.
 */
export function firewallWanted(raw: { readonly firewall?: unknown; readonly interfaces?: unknown }): boolean {
  if (raw.firewall === undefined && raw.interfaces === undefined) return false;
  const fw = typeof raw.firewall === 'object' && raw.firewall !== null ? (raw.firewall as Record<string, unknown>) : {};
  return !(fw['inbound'] === 'off' && fw['outbound'] === 'off');
}
