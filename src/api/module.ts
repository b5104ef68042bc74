import type { FeedConfig } from '../feeds/index.js';
import type { FastifyPluginAsync } from 'fastify';
import { moduleRef, type Module } from '../modules/index.js';
import { apiSection, type ApiConfig } from './config.js';

export { apiSocketDefault } from './config.js';

export interface ApiView {
  readonly api: ApiConfig;
  readonly feeds: readonly FeedConfig[];
}

/** What the api gives modules started after it (the dashboard): every admin route, as one plugin to mount. */
export interface ApiProvides {
  readonly routes: FastifyPluginAsync;
}

export const apiRef = moduleRef<ApiProvides>('api');

/**
 * The admin API (Unix socket, and TCP with a token when api.listen is set): what the CLI and the
 * dashboard talk to. Started last, so it can mount what every other module contributes and answer
 * `gatehouse status` with the list of modules running.
 */
export const apiModule = {
  name: 'api',
  sections: (f) => ({ api: apiSection(f) }),
  enabled: () => true,
  after: ['decisions', 'clients', 'firewall', 'feeds', 'crowdsec', 'dns', 'shaper', 'portal', 'notify', 'metrics'],
  listenKeys: ['api.listen'],
  listeners: (c) => [...(c.api.listen ? [['api.listen', c.api.listen] as const] : []), ['api.socket', c.api.socket] as const],
  // Loaded here, not at the top: `gatehouse config check` and every CLI verb read the module list.
  start: async (ctx) => (await import('./run.js')).startApi(ctx),
} satisfies Module<ApiView, ApiProvides>;
