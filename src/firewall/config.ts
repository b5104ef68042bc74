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

const DEFAULTS = firewallSection().parse({});

/** After the config check: the firewall section with its defaults, whether or not the file has one. */
export function firewallDefaults<C extends { readonly firewall?: FirewallConfig | undefined }>(c: C): Omit<C, 'firewall'> & { readonly firewall: FirewallConfig } {
  return { ...c, firewall: c.firewall ?? DEFAULTS };
}

/**
 * The firewall runs when the config has a `firewall:` section or lists `interfaces`, unless both
 * directions are `off`. A config with neither (only `lapi:`, say) never touches nftables. Reads the
 * config as checked so far (the firewall section is still absent when the file has none).
 */
export function firewallWanted(c: { readonly firewall?: unknown; readonly interfaces?: unknown }): boolean {
  const listed = (side: string) => {
    const v = typeof c.interfaces === 'object' && c.interfaces !== null ? (c.interfaces as Record<string, unknown>)[side] : undefined;
    return Array.isArray(v) && v.length > 0;
  };
  if (c.firewall === undefined && !listed('lan') && !listed('wan')) return false;
  const fw = typeof c.firewall === 'object' && c.firewall !== null ? (c.firewall as Record<string, unknown>) : {};
  return !(fw['inbound'] === 'off' && fw['outbound'] === 'off');
}
