import type { DnsConfig } from '../dns/index.js';
import type { Module } from '../modules/index.js';
import { webSection, type WebConfig } from './config.js';
import { webMigrations } from './schema.js';

/** What the web module reads of the config. */
export interface WebView {
  readonly web?: WebConfig | undefined;
  /** The metrics module's section, read only to know whether its /metrics has a token. */
  readonly metrics?: { readonly token_sha256?: string | undefined } | undefined;
  readonly interfaces: { readonly lan: readonly string[]; readonly wan: readonly string[] };
  /** The DNS filter's groups, read to show each device's group on the Clients page. */
  readonly dns?: Pick<DnsConfig, 'groups'> | undefined;
}

/**
 * The web dashboard: pages over the admin API for the admin's browser, with login, on `web.listen`.
 * Off unless the config has a `web:` section. Started after the api, whose routes it mounts under /api.
 */
export const webModule = {
  name: 'web',
  sections: (f) => ({ web: webSection(f) }),
  enabled: (c) => c.web !== undefined,
  requires: ['api'],
  // metrics when it is on: its /metrics is mounted here too.
  after: ['api', 'clients', 'metrics'],
  migrations: webMigrations,
  listenKeys: ['web.listen'],
  listeners: (c) => (c.web ? [['web.listen', c.web.listen] as const] : []),
  // Loaded here, not at the top: `gatehouse config check` and every CLI verb read the module list.
  start: async (ctx) => (await import('./run.js')).startWeb(ctx),
} satisfies Module<WebView>;
