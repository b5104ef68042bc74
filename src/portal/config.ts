import { z } from 'zod';
import { ALWAYS, byteSizeField, durationField, field, flagDuplicates, interfaceField, listenField, parseMac, targetField, type SectionFields } from '../config/index.js';
import type { AuthMethod, LimitAction, LimitKind } from './types.js';
import { PORTAL_TEXT_KEYS, type PortalTextKey } from './web/texts.js';

/*
 * The `portal:` section. Limits are written once under `limits` and may be overridden per user
 * (`user_limits`) and, at creation, per voucher (`gatehouse vouchers create --time --traffic`). Which action a
 * limit takes is `limits.action` (default relogin) or per limit in `limits.actions`; only traffic limits can
 * throttle (a session over its time or idle for too long has nothing to slow down).
 */

export const AUTH_METHODS = ['accounts', 'vouchers', 'click_through'] as const satisfies readonly AuthMethod[];
export const LIMIT_ACTIONS = ['relogin', 'throttle'] as const satisfies readonly LimitAction[];
/** Limits whose action may be `throttle`: the traffic ones. */
export const THROTTLE_LIMITS = ['session_download', 'session_upload', 'daily', 'weekly'] as const satisfies readonly LimitKind[];

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const USER_NAME_RULE = 'a user name is 1-64 characters from A-Z a-z 0-9 . _ @ -, starting with a letter or digit';
export const isUserName = (s: string): boolean => USER_NAME.test(s);

/** The pages' texts by the web part's keys: a misspelt key is an error with "did you mean". */
const textsSchema = () =>
  z
    .strictObject(Object.fromEntries(PORTAL_TEXT_KEYS.map((k) => [k, z.string().min(1, 'must not be empty').max(4000).optional()])) as Record<PortalTextKey, z.ZodOptional<z.ZodString>>)
    .default({});

/** Download and upload quota of one period; either may be left out (no limit that way). */
const quotaSchema = () =>
  z.strictObject({
    download: byteSizeField().optional(),
    upload: byteSizeField().optional(),
  });

/** The limits as written (all optional: an override names only what it changes). */
const limitsShape = () => ({
  /** How long a session lasts before the device must log in again. */
  session_time: durationField({ positive: true }).optional(),
  /** A session with no traffic for this long ends. */
  idle: durationField({ positive: true }).optional(),
  /** Per session. */
  download: byteSizeField().optional(),
  upload: byteSizeField().optional(),
  /** Per user per day (local midnight), across all their devices. */
  daily: quotaSchema().optional(),
  /** Per user over the last 7 days (today and the six before). */
  weekly: quotaSchema().optional(),
  max_devices: z.number().int().min(1).max(1000).optional(),
});

const actionsSchema = z.strictObject({
  session_time: z.literal('relogin', { message: 'a session over its time can only end: relogin' }).optional(),
  idle: z.literal('relogin', { message: 'an idle session can only end: relogin' }).optional(),
  session_download: z.enum(LIMIT_ACTIONS).optional(),
  session_upload: z.enum(LIMIT_ACTIONS).optional(),
  daily: z.enum(LIMIT_ACTIONS).optional(),
  weekly: z.enum(LIMIT_ACTIONS).optional(),
});

const limitsSchema = z
  .strictObject({
    ...limitsShape(),
    /** What every limit does unless `actions` says otherwise (throttle applies to traffic limits only). */
    action: z.enum(LIMIT_ACTIONS).default('relogin'),
    actions: actionsSchema.prefault({}),
  })
  .prefault({});

const overrideSchema = z.strictObject(limitsShape());

/** A MAC, an IP or a CIDR that passes without login (the printer, the SIP server, the admin's PC). */
const exemptEntry = () =>
  z.string().transform((v, ctx): { readonly mac: string } | { readonly target: string } => {
    if (/^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$/.test(v.trim())) return { mac: parseMac(v.trim()) };
    const t = targetField().safeParse(v.trim());
    if (t.success) return { target: t.data };
    ctx.issues.push({ code: 'custom', input: v, message: `expected a MAC (02:00:00:00:00:01), an IP or a CIDR, got ${JSON.stringify(v)}` });
    return z.NEVER;
  });

export const portalSection = (f: SectionFields) =>
  z
    .strictObject({
      /** The portal's web listener (HTTP); LAN clients' tcp/80 is redirected to its port. */
      listen: listenField().default('[::]:8880'),
      /** Which LAN interfaces are captive; default all of interfaces.lan. */
      interfaces: z.array(interfaceField()).optional(),
      auth: z
        .preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.enum(AUTH_METHODS)).min(1, 'name at least one of accounts, vouchers, click_through'))
        .default(['accounts'])
        .transform((a): readonly AuthMethod[] => [...new Set(a)]),
      limits: limitsSchema,
      /** Per account name: limits that replace the defaults for that user. */
      user_limits: z.record(z.string().regex(USER_NAME, USER_NAME_RULE), overrideSchema).default({}),
      exempt: z.array(exemptEntry()).default([]),
      tls: z
        .strictObject({
          listen: listenField().default('[::]:8443'),
          cert: f.path(),
          key: f.path(),
        })
        .optional(),
      /** The login and status pages' texts in the admin's language, by key (English defaults for the rest). */
      texts: textsSchema(),
      /** Login attempts: after `failures` wrong ones within `window` from one client or for one user, wait `lockout`. */
      login_rate: z
        .strictObject({
          failures: z.number().int().min(1).max(1000).default(5),
          window: durationField({ positive: true }).prefault('1m'),
          lockout: durationField({ positive: true }).prefault('1m'),
        })
        .prefault({}),
      /** How often the limits loop reads the kernel's counters. */
      poll: durationField({ positive: true }).prefault('2s'),
    })
    .superRefine((p, ctx) => {
      flagDuplicates(field(p, 'interfaces'), (v) => (typeof v === 'string' ? v : undefined), ctx, (i) => ['interfaces', i], 'interface', (i) => `portal.interfaces[${i}]`);
      const limits = field(p, 'limits');
      const actions = field(limits, 'actions');
      // An action for a limit that is not set is almost always a typo in the limit's name.
      for (const k of THROTTLE_LIMITS) {
        const key = k === 'session_download' ? 'download' : k === 'session_upload' ? 'upload' : k;
        if (field(actions, k) !== undefined && field(limits, key) === undefined && !hasOverride(field(p, 'user_limits'), key)) {
          ctx.addIssue({ code: 'custom', path: ['limits', 'actions', k], message: `an action for a limit that is not set: add limits.${key}` });
        }
      }
    }, ALWAYS)
    .optional();

function hasOverride(userLimits: unknown, key: string): boolean {
  return typeof userLimits === 'object' && userLimits !== null && Object.values(userLimits).some((o) => field(o, key) !== undefined);
}

export type PortalConfig = NonNullable<z.output<ReturnType<typeof portalSection>>>;
export type PortalLimitsConfig = PortalConfig['limits'];
export type LimitOverride = z.output<typeof overrideSchema>;
