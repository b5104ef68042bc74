import { z } from 'zod';
import { listenField, sha256Field } from '../config/index.js';

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
    .optional();

export type MetricsConfig = NonNullable<z.output<ReturnType<typeof metricsSection>>>;
