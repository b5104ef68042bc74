import type { FeedConfig, RunningFeed } from '../feeds/index.js';
import { moduleRef, type Module } from '../modules/index.js';
import { lapiMigrations } from '../store/index.js';
import { crowdsecSections, type LapiConfig, type MirrorConfig } from './config.js';
import type { LapiRequestLabels } from './lapi/index.js';

export interface CrowdsecView {
  readonly data_dir: string;
  readonly feeds: readonly FeedConfig[];
  readonly lapi?: LapiConfig | undefined;
  readonly mirror?: MirrorConfig | undefined;
}

export interface CrowdsecApi {
  /** The CrowdSec LAPIs pulled as feeds (`feeds:` entries of type crowdsec). */
  readonly feeds: readonly RunningFeed[];
  readonly lapiAddress?: string | undefined;
  readonly mirrorAddress?: string | undefined;
  /** Calls `fn` for every request our LAPI answered (route template, method, status code). */
  onLapiRequest(fn: (labels: LapiRequestLabels) => void): void;
}

export const crowdsecRef = moduleRef<CrowdsecApi>('crowdsec');

/**
 * CrowdSec both ways: stream clients pulling other LAPIs' decisions (crowdsec feeds), our own
 * CrowdSec-compatible Local API (`lapi:`) and the blocklist mirror (`mirror:`). Needs no interfaces
 * and no firewall: a config with only `lapi:` serves bouncers without touching nftables.
 */
export const crowdsecModule = {
  name: 'crowdsec',
  sections: () => crowdsecSections(),
  enabled: (c) => c.lapi !== undefined || c.mirror !== undefined || c.feeds.some((f) => f.type === 'crowdsec'),
  after: ['decisions', 'firewall'],
  listenKeys: ['lapi.listen', 'mirror.listen'],
  // Bouncers, machines and alerts: the admin API manages the credentials even while the LAPI is off.
  migrations: lapiMigrations,
  listeners: (c) => [...(c.lapi ? [['lapi.listen', c.lapi.listen] as const] : []), ...(c.mirror ? [['mirror.listen', c.mirror.listen] as const] : [])],
  // Loaded here, not at the top: `gatehouse config check` and every CLI verb read the module list.
  start: async (ctx) => (await import('./run.js')).startCrowdsec(ctx),
} satisfies Module<CrowdsecView, CrowdsecApi>;
