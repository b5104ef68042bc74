import { composeConfigSchema, createConfigLoader } from '../config/index.js';
import { apiSocketDefault, firewallDefaults, gatehouseModules } from './modules.js';

/*
 * The file schema: config/'s composition of the sections of every module in the list. Loading,
 * checking and the FILE:LINE:COL messages are config/'s; which sections exist is decided here.
 */

const MODULES = gatehouseModules();

export function buildConfigSchema(baseDir: string) {
  // Defaults that depend on more than their own section: the api socket lives in data_dir, and the
  // firewall section is filled in once the check has seen whether the file wrote one.
  return composeConfigSchema(baseDir, MODULES).transform((c) => firewallDefaults(apiSocketDefault(c)));
}

export type ConfigSchema = ReturnType<typeof buildConfigSchema>;

/** The validated config: snake_case keys as in YAML, durations in ms, paths absolute, defaults filled in. */
export type GatehouseConfig = import('zod').z.output<ConfigSchema>;

const loader = createConfigLoader(buildConfigSchema);
export const { readConfig, parseConfigText, configFromObject, checkConfig, loadConfig } = loader;
