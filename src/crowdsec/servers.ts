import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { covers, parseTarget, tryParseTarget } from '../net/ip.js';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecisionService } from '../decisions/index.js';
import type { EventSource } from '../events/index.js';
import type { FeedLog } from '../feeds/index.js';
import type { Db } from '../store/index.js';
import type { LapiCredentials } from '../store/index.js';
import type { LapiConfig, MirrorConfig } from './config.js';
import { lapiRequestLabels, lapiRoutes, type LapiRequestLabels } from './lapi/index.js';
import { MirrorDecisionReads, mirrorRoutes } from './mirror/index.js';
import { limitedFastify, listenOn, type ListenerSetup } from '../net/listeners.js';
import type { NetworkContext } from '../net/target-guard.js';

/** Watcher tokens must survive a restart, or every agent has to log in again: keep the key on disk. */
function jwtSecret(dataDir: string): Buffer {
  const file = join(dataDir, 'lapi-jwt.key');
  if (existsSync(file)) {
    const k = readFileSync(file);
    if (k.length >= 32) return k;
  }
  const k = randomBytes(48);
  writeFileSync(file, k, { mode: 0o600 });
  return k;
}

/**
 * `lapi.trusted_ips`: answers anyone else the way CrowdSec answers a bad key, before any key or password
 * is even looked at.
 */
export function onlyFrom(cidrs: readonly string[]) {
  const allowed = cidrs.map((c) => parseTarget(c));
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const ip = tryParseTarget(req.ip);
    if (!ip || !allowed.some((a) => covers(a, ip))) {
      await reply.code(403).header('content-type', 'application/json; charset=utf-8').send('{"message":"access forbidden"}');
    }
  };
}

export interface ExtraServers {
  readonly lapiAddress?: string;
  readonly mirrorAddress?: string;
  close(): Promise<void>;
}

/** The CrowdSec-compatible Local API and the blocklist mirror, each on its own listener when configured. */
/** The sections the servers read; the whole config satisfies it. */
export interface ServersConfig {
  readonly data_dir: string;
  readonly lapi?: LapiConfig | undefined;
  readonly mirror?: MirrorConfig | undefined;
}

export async function startExtraServers(
  cfg: ServersConfig,
  store: { readonly service: DecisionService; readonly db: Db; readonly events: EventSource },
  credentials: LapiCredentials,
  setup: ListenerSetup = {},
  guard: { network?: () => NetworkContext; log?: FeedLog } = {},
  /** Told of every answered LAPI request (the metrics module counts them). */
  onLapiRequest?: (labels: LapiRequestLabels) => void,
): Promise<ExtraServers> {
  const apps: FastifyInstance[] = [];
  let lapiAddress: string | undefined;
  let mirrorAddress: string | undefined;
  try {
    if (cfg.lapi) {
      const app = limitedFastify('lapi.listen', setup, { trustProxy: false });
      const trusted = cfg.lapi.trusted_ips;
      if (trusted) app.addHook('onRequest', onlyFrom(trusted));
      // On the root, before the routes: refusals by trusted_ips and the catch-all's 404s are counted too.
      if (onLapiRequest) app.addHook('onResponse', async (req, reply) => onLapiRequest(lapiRequestLabels(req.routeOptions.url, req.method, reply.statusCode)));
      await app.register(
        lapiRoutes({
          decisions: store.service,
          events: store.events,
          credentials,
          db: store.db,
          profile: { durationMs: cfg.lapi.profile.duration, direction: cfg.lapi.profile.direction },
          jwtSecret: jwtSecret(cfg.data_dir),
          ...(cfg.lapi.machines ? { machines: cfg.lapi.machines } : {}),
          ...(guard.network ? { network: guard.network } : {}),
          ...(guard.log ? { log: guard.log } : {}),
        }),
      );
      apps.push(app);
      lapiAddress = await listenOn(app, 'lapi.listen', cfg.lapi.listen);
    }
    if (cfg.mirror) {
      const app = limitedFastify('mirror.listen', setup);
      await app.register(mirrorRoutes({ decisions: new MirrorDecisionReads(store.db), endpoints: cfg.mirror.endpoints }));
      apps.push(app);
      mirrorAddress = await listenOn(app, 'mirror.listen', cfg.mirror.listen);
    }
  } catch (e) {
    await Promise.allSettled(apps.map((a) => a.close()));
    throw e;
  }
  return {
    lapiAddress,
    mirrorAddress,
    async close() {
      await Promise.allSettled(apps.map((a) => a.close()));
    },
  };
}
