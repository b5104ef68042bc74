import { z } from 'zod';
import { ALWAYS, durationField, field, flagDuplicates, interfaceField, rateField } from '../config/index.js';

/*
 * The `shaper:` section. Rates are bits per second as admins write them ("100mbit"); the link rates should be
 * a little below what the ISP delivers, so the queue builds here (where it is fair) and not in the modem.
 */

/** HTB takes rates up to 2^64 bytes/s, but nothing a gateway shapes is near 100 Gbit/s; above is a typo. */
export const MAX_RATE = 100e9;
/** Below this, one full-size packet takes longer than a second to send: no usable link. */
export const MIN_LINK_RATE = 64e3;
export const MIN_CLASS_RATE = 8e3;

export const DEFAULT_P2P_RATE = 256_000;
export const DEFAULT_FAIR_USE_RATE = 1_000_000;

export const P2P_MODES = ['throttle', 'off'] as const;

const ifaceList = () =>
  z
    .array(interfaceField())
    .min(1, 'list at least one interface')
    .superRefine((names, ctx) => {
      flagDuplicates(names, (n) => (typeof n === 'string' ? n : undefined), ctx, (i) => [i], 'interface', (i) => `[${i}]`);
    }, ALWAYS);

const rateIn = (min: number, what: string) =>
  rateField().superRefine((v, ctx) => {
    if (v < min) ctx.addIssue({ code: 'custom', message: `${what} must be at least ${min / 1000}kbit` });
    if (v > MAX_RATE) ctx.addIssue({ code: 'custom', message: `${what} must be at most 100gbit` });
  });

export const shaperSection = () =>
  z
    .strictObject({
      /** The ISP's download rate, a little below it: shaped on LAN egress. */
      download: rateIn(MIN_LINK_RATE, 'a link rate'),
      /** The ISP's upload rate, a little below it: shaped on WAN egress. */
      upload: rateIn(MIN_LINK_RATE, 'a link rate'),
      /** Where to shape; default the top-level `interfaces` (the firewall's LAN and WAN). */
      interfaces: z.strictObject({ lan: ifaceList(), wan: ifaceList() }).optional(),
      p2p: z.enum(P2P_MODES).default('throttle'),
      /** Ceiling of a client's P2P flows, per direction. */
      p2p_rate: rateIn(MIN_CLASS_RATE, 'p2p_rate').optional(),
      /** Open connections per client beyond which new ones are refused (guards/). */
      max_connections: z.number().int().min(1).max(1_000_000).default(300),
      /** New connections per second per client beyond which they are refused (guards/). */
      new_connections_per_second: z.number().int().min(1).max(100_000).default(50),
      /** The ceiling of a client put in the fair-use class (the portal's `throttle` action). */
      fair_use_rate: rateIn(MIN_CLASS_RATE, 'fair_use_rate').optional(),
      /** How long a client sends and receives nothing before its classes go. */
      idle: durationField({ positive: true }).default(300_000),
    })
    .superRefine((s, ctx) => {
      const link = Math.min(field(s, 'download') as number, field(s, 'upload') as number);
      // A link rate out of range has its own message; comparing with it would only add noise.
      if (!Number.isFinite(link) || link < MIN_LINK_RATE || link > MAX_RATE) return;
      for (const key of ['p2p_rate', 'fair_use_rate'] as const) {
        const v = field(s, key);
        if (typeof v === 'number' && v > link) ctx.addIssue({ code: 'custom', path: [key], message: `${key} (${v / 1000}kbit) must not exceed the slower link rate (${link / 1000}kbit)` });
      }
      const i = s.interfaces;
      if (i) {
        for (const [n, lan] of i.lan.entries()) {
          if (i.wan.includes(lan)) ctx.addIssue({ code: 'custom', path: ['interfaces', 'lan', n], message: `${lan} is listed as LAN and as WAN: one direction each` });
        }
      }
      const idle = field(s, 'idle');
      if (typeof idle === 'number' && (idle < 10_000 || idle > 86_400_000)) ctx.addIssue({ code: 'custom', path: ['idle'], message: 'idle must be between 10s and 1d' });
    })
    // Defaults that depend on the link: never above the slower direction.
    .transform((s) => {
      const link = Math.min(s.download, s.upload);
      return { ...s, p2p_rate: s.p2p_rate ?? Math.min(DEFAULT_P2P_RATE, link), fair_use_rate: s.fair_use_rate ?? Math.min(DEFAULT_FAIR_USE_RATE, link) };
    });

export type ShaperConfig = z.output<ReturnType<typeof shaperSection>>;
