import { join } from 'node:path';
import { z } from 'zod';
import { ALWAYS, field, listenField, sha256Field, type SectionFields } from '../config/index.js';

/** The `api:` section: the admin API on a Unix socket, and optionally on TCP with a token. */
export const apiSection = (f: SectionFields) =>
  z
    .strictObject({
      /** Default: <data_dir>/api.sock (filled in by apiSocketDefault once data_dir is known). */
      socket: f.path().optional(),
      listen: listenField().optional(),
      token_sha256: sha256Field().optional(),
    })
    .superRefine((a, ctx) => {
      if (field(a, 'listen') !== undefined && field(a, 'token_sha256') === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['token_sha256'],
          message: 'required when api.listen is set: the sha256 of the bearer token (printf %s "$TOKEN" | sha256sum)',
        });
      }
    }, ALWAYS)
    .prefault({});

export type ApiSectionInput = z.output<ReturnType<typeof apiSection>>;
export type ApiConfig = ApiSectionInput & { readonly socket: string };

/** The socket defaults to one inside data_dir, known only once the whole file is read. */
export function apiSocketDefault<C extends { readonly data_dir: string; readonly api: ApiSectionInput }>(c: C): C & { readonly api: ApiConfig } {
  return { ...c, api: { ...c.api, socket: c.api.socket ?? join(c.data_dir, 'api.sock') } };
}
