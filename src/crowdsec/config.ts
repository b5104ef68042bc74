import { z } from 'zod';
import { ALWAYS, field, flagDuplicates, listenField, nonEmptyString, originPatternField, positiveDuration, sha256Field, stringOrUndefined, targetField } from '../config/index.js';
import { DIRECTIONS } from '../decisions/index.js';
import { MIRROR_AUTHS, MIRROR_FORMATS } from './mirror/index.js';

/** The `lapi:` (our CrowdSec-compatible Local API) and `mirror:` (blocklists for other firewalls) sections. */

const MACHINE_ID = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export function crowdsecSections() {
  const lapiMachine = z.strictObject({
    name: z.string().regex(MACHINE_ID, 'a machine id as given to `gatehouse machines add` (letters, digits and _.@-, at most 64 characters)'),
    /** Origins whose decisions this watcher may delete besides its own; "feed:*" = every feed, "*" = every decision. */
    delete_origins: z.array(originPatternField()).min(1, 'list at least one origin (e.g. manual, crowdsec, "lapi:*", "feed:*", "*")'),
  });

  const lapi = z.strictObject({
    listen: listenField().default('127.0.0.1:8081'),
    /** Absent = every watcher acts on its own decisions only (origin lapi:<machine>). */
    machines: z
      .array(lapiMachine)
      .optional()
      .superRefine((list, ctx) => {
        flagDuplicates(list, (m) => stringOrUndefined(field(m, 'name')), ctx, (i) => [i, 'name'], 'machine', (i) => `lapi.machines[${i}]`);
      }, ALWAYS),
    /** Absent = no IP restriction beyond authentication. */
    trusted_ips: z.array(targetField()).optional(),
    /** How alerts pushed by watchers become decisions (CrowdSec's default profile bans for 4h). */
    profile: z
      .strictObject({
        duration: positiveDuration().prefault('4h'),
        direction: z.enum(DIRECTIONS).default('inbound'),
      })
      .prefault({}),
  });

  const mirrorEndpoint = z
    .strictObject({
      path: z.string().regex(/^\/[^\s?#]*$/, 'must start with / and contain no spaces, ? or #'),
      format: z.enum(MIRROR_FORMATS).default('plain_text'),
      auth: z.enum(MIRROR_AUTHS).default('none'),
      users: z.array(z.strictObject({ user: nonEmptyString(), password_sha256: sha256Field() })).optional(),
      trusted_ips: z.array(targetField()).optional(),
      /** Merge adjacent and overlapping entries into the fewest CIDRs (cs-blocklist-mirror's `aggregate: true`). */
      aggregate: z.boolean().default(false),
    })
    .superRefine((e, ctx) => {
      const auth = field(e, 'auth');
      const users = field(e, 'users');
      const trusted = field(e, 'trusted_ips');
      if (auth === 'basic' && (users === undefined || (Array.isArray(users) && users.length === 0))) {
        ctx.addIssue({ code: 'custom', path: ['users'], message: 'required (at least one user) when auth is basic' });
      }
      if (auth === 'ip_based' && (trusted === undefined || (Array.isArray(trusted) && trusted.length === 0))) {
        ctx.addIssue({ code: 'custom', path: ['trusted_ips'], message: 'required (at least one IP or CIDR) when auth is ip_based' });
      }
      if (auth !== 'basic' && users !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['users'], message: 'only used when auth is basic; remove it or set auth: basic' });
      }
      if (auth !== 'ip_based' && trusted !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['trusted_ips'], message: 'only used when auth is ip_based; remove it or set auth: ip_based' });
      }
    }, ALWAYS);

  const mirror = z.strictObject({
    listen: listenField().default('127.0.0.1:41412'),
    endpoints: z
      .array(mirrorEndpoint)
      .min(1, 'list at least one endpoint')
      .superRefine((list, ctx) => {
        flagDuplicates(list, (e) => stringOrUndefined(field(e, 'path')), ctx, (i) => [i, 'path'], 'path', (i) => `mirror.endpoints[${i}]`);
      }, ALWAYS),
  });

  return { lapi: lapi.optional(), mirror: mirror.optional() };
}

type Sections = ReturnType<typeof crowdsecSections>;
export type LapiConfig = NonNullable<z.output<Sections['lapi']>>;
export type MirrorConfig = NonNullable<z.output<Sections['mirror']>>;
