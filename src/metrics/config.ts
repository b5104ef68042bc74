import { z } from 'zod';
import { ALWAYS, field, listenField, parseListenAddress, sha256Field } from '../config/index.js';

/**
 * The `metrics:` section: Prometheus text on `listen` (its own small server), and/or under the dashboard's
 * `web.listen` at /metrics. With `token_sha256`, a scrape must send `Authorization: Bearer TOKEN`.
 */
export const metricsSection = () =>
  z
    .strictObject({
      listen: listenField().optional(),
      token_sha256: sha256Field().optional(),
      /** Kernel set sizes are read with `nft -j list set`, which costs seconds on huge sets: skipped above this many decisions. */
      kernel_sets_max_decisions: z.number().int().min(0).default(200_000),
    })
    .superRefine((m, ctx) => {
      const listen = field(m, 'listen');
      if (typeof listen !== 'string' || field(m, 'token_sha256') !== undefined) return;
      let host: string;
      try {
        host = parseListenAddress(listen).host;
      } catch {
        return;
      }
      if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
        ctx.addIssue({ code: 'custom', path: ['token_sha256'], message: `required when metrics.listen is not loopback (${listen}): the sha256 of the bearer token scrapes send (printf %s "$TOKEN" | sha256sum)` });
      }
    }, ALWAYS)
    .optional();

export type MetricsConfig = NonNullable<z.output<ReturnType<typeof metricsSection>>>;
