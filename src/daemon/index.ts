import type { GatehouseConfig } from './config.js';
import type { DaemonOptions, RunningDaemon } from './daemon.js';

export { buildConfigSchema, checkConfig, configFromObject, loadConfig, parseConfigText, readConfig, type ConfigSchema, type GatehouseConfig } from './config.js';
export { gatehouseModules } from './modules.js';
export type { DaemonOptions, RunningDaemon } from './daemon.js';

/**
 * Starts the modules the config enables (see daemon.ts). Loaded on call: every CLI verb reads the config
 * through this folder, and only `gatehouse run` needs the daemon's servers, SQLite and nft.
 */
export async function startDaemon(config: GatehouseConfig, opts: DaemonOptions = {}): Promise<RunningDaemon> {
  return (await import('./daemon.js')).startDaemon(config, opts);
}
