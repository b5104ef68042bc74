import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { moduleRef, type Module } from '../modules/index.js';
import { metricsSection, type MetricsConfig } from './config.js';

export interface MetricsView {
  readonly metrics?: MetricsConfig | undefined;
}

/** What the dashboard mounts: `app.register(plugin)` serves GET /metrics (token checked when set). */
export interface MetricsApi {
  readonly registry: Registry;
  readonly plugin: FastifyPluginAsync;
}

export const metricsRef = moduleRef<MetricsApi>('metrics');

/**
 * Prometheus metrics: a prom-client registry fed by the bus (blocks, feed refreshes, decision changes) and
 * by the running modules' status at scrape time. Runs when the config has a `metrics:` section; started
 * after the modules it reads, before the api and the dashboard that mount it.
 */
export const metricsModule = {
  name: 'metrics',
  sections: () => ({ metrics: metricsSection() }),
  enabled: (c) => c.metrics !== undefined,
  after: ['decisions', 'firewall', 'clients', 'feeds', 'crowdsec', 'dns', 'shaper', 'portal', 'notify'],
  listenKeys: ['metrics.listen'],
  start: async (ctx) => (await import('./run.js')).startMetrics(ctx),
} satisfies Module<MetricsView, MetricsApi>;
