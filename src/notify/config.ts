import { z } from 'zod';
import { ALWAYS, durationField, field, httpUrlField, nonEmptyString, positiveDuration, type SectionFields } from '../config/index.js';
import { RULE_KINDS, SEVERITIES } from './types.js';
import { parseClock, parseQuietHours } from './time-of-day.js';

/*
 * The `notify:` section: named channels (webhook, email), rules that say which events go where and how
 * often, the daily digest, and how long delivery keeps trying.
 */

const NAME = /^[a-z0-9][a-z0-9_-]{0,40}$/;
export const WEBHOOK_TEMPLATES = ['json', 'slack', 'matrix', 'discord', 'ntfy'] as const;
export type WebhookTemplate = (typeof WEBHOOK_TEMPLATES)[number];

const clockField = () =>
  z.string().superRefine((v, ctx) => {
    try {
      parseClock(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });

const quietField = () =>
  z.string().superRefine((v, ctx) => {
    try {
      parseQuietHours(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });

const webhookSchema = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrlField(),
  template: z.enum(WEBHOOK_TEMPLATES).default('json'),
  /** Extra request headers, e.g. an Authorization for a Matrix or ntfy server. */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name uses A-Z, a-z, 0-9 and -'), z.string().max(4096)).default({}),
  timeout: positiveDuration().prefault('10s'),
});

const emailSchema = (f: SectionFields) =>
  z
    .strictObject({
      type: z.literal('email'),
      host: nonEmptyString(),
      port: z.number().int().min(1).max(65535).default(587),
      /** Refuse to send unless the server upgrades the connection with STARTTLS (port 587). */
      starttls: z.boolean().default(true),
      /** TLS from the first byte (port 465); excludes starttls. */
      tls: z.boolean().default(false),
      user: nonEmptyString().optional(),
      /** A file holding the SMTP password (kept out of the config file). */
      password_file: f.path().optional(),
      from: nonEmptyString(),
      to: z.union([nonEmptyString(), z.array(nonEmptyString()).min(1)]).transform((v) => (Array.isArray(v) ? v : [v])),
      timeout: positiveDuration().prefault('20s'),
    })
    .superRefine((e, ctx) => {
      if (field(e, 'user') !== undefined && field(e, 'password_file') === undefined) {
        ctx.addIssue({ code: 'custom', path: ['password_file'], message: 'required with user: a file holding the SMTP password' });
      }
    }, ALWAYS);

const ruleSchema = z.strictObject({
  kind: z.enum(RULE_KINDS),
  /** Channel names; default: every channel. */
  channels: z.array(nonEmptyString()).optional(),
  /** Notices of the same kind and client within this window after the first go out as one message. */
  group: durationField({ positive: false }).prefault('30s'),
  /** At least this long between two messages for the same kind and client; what comes meanwhile waits for the next. */
  cooldown: positiveDuration().prefault('10m'),
  /** "23:00-07:00": messages wait until the end (critical ones go out at once). */
  quiet_hours: quietField().optional(),
  min_severity: z.enum(SEVERITIES).default('info'),
  /** inbound_burst: blocked inbound attempts; portal_bruteforce: failed logins — within `window`. */
  threshold: z.number().int().min(1).optional(),
  window: positiveDuration().prefault('1m'),
});

/** "07:00", or { at: "07:00", channels: [mail] }. */
const digestSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { at: v } : v),
  z.strictObject({ at: clockField(), channels: z.array(nonEmptyString()).optional() }),
);

export const notifySection = (f: SectionFields) =>
  z
    .strictObject({
      channels: z.record(z.string().regex(NAME, 'channel names use a-z, 0-9, _ and -'), z.discriminatedUnion('type', [webhookSchema, emailSchema(f)])),
      rules: z.array(ruleSchema).default([]),
      /** "07:00" (local time): yesterday in one message per channel. */
      digest: digestSchema.optional(),
      retry: z
        .strictObject({
          /** The longest wait between two attempts (the wait doubles from 5 s up to this). */
          max_interval: positiveDuration().prefault('5m'),
          /** A message still undelivered after this is given up (and stays visible in `notify status`). */
          give_up_after: positiveDuration().prefault('3d'),
        })
        .prefault({}),
    })
    .superRefine((n, ctx) => {
      const names = new Set(Object.keys((field(n, 'channels') as object | undefined) ?? {}));
      const rules = field(n, 'rules');
      if (Array.isArray(rules)) {
        rules.forEach((r, i) => {
          const ch = field(r, 'channels');
          if (Array.isArray(ch)) ch.forEach((c, j) => {
            if (typeof c === 'string' && !names.has(c)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'channels', j], message: `no channel named ${JSON.stringify(c)} (channels: ${[...names].join(', ') || 'none'})` });
          });
        });
      }
      const dch = field(field(n, 'digest'), 'channels');
      if (Array.isArray(dch)) dch.forEach((c, j) => {
        if (typeof c === 'string' && !names.has(c)) ctx.addIssue({ code: 'custom', path: ['digest', 'channels', j], message: `no channel named ${JSON.stringify(c)}` });
      });
    }, ALWAYS);

export type NotifyConfig = z.output<ReturnType<typeof notifySection>>;
export type ChannelConfig = NotifyConfig['channels'][string];
export type WebhookConfig = Extract<ChannelConfig, { type: 'webhook' }>;
export type EmailConfig = Extract<ChannelConfig, { type: 'email' }>;
export type RuleConfig = NotifyConfig['rules'][number];
