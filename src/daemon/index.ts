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

/**
 * The dashboard's admin accounts in the store at `dataDir`, for `gatehouse admins`: opened directly (not
 * through the API), so the first admin can be made before the dashboard, or the daemon, runs.
 */
export async function openAdminAccounts(dataDir: string): Promise<{ accounts: import('../web/index.js').AdminAccounts; close(): void }> {
  const [{ openDb }, { AdminAccounts, webMigrations }] = await Promise.all([import('../store/index.js'), import('../web/index.js')]);
  const db = openDb(dataDir, undefined, [webMigrations]);
  return { accounts: new AdminAccounts(db), close: () => db.close() };
}
