import { z } from 'zod';
import { listenField, positiveDuration, type SectionFields } from '../config/index.js';

/**
 * The `web:` section: the dashboard. Off unless `listen` is given. `tls` is either a certificate and key
 * (PEM files) or `self_signed`, which makes one on first start and keeps it in data_dir.
 */
export const webSection = (f: SectionFields) =>
  z
    .strictObject({
      listen: listenField(),
      tls: z.union([z.literal('self_signed'), z.strictObject({ cert: f.path(), key: f.path() })]).optional(),
      /** How long a login lasts without a new one. */
      session_ttl: positiveDuration().optional(),
    })
    .optional();

export type WebConfig = NonNullable<z.output<ReturnType<typeof webSection>>>;

/** Twelve hours: a working day, after which she logs in again. */
export const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;
