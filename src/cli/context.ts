import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { defaultConfigPath } from '../config/index.js';
import { loadConfig } from '../daemon/index.js';
import { ApiClient } from './api-client.js';

export interface GlobalOpts {
  config?: string;
  json?: boolean;
}

/** Every verb takes --config, like cscli's -c: the config tells where the daemon's socket is. */
export function withConfig(cmd: Command): Command {
  return cmd.option('-c, --config <file>', 'Gatehouse config file (default: $GATEHOUSE_CONFIG or /etc/gatehouse/gatehouse.yaml)');
}

export function configFile(opts: GlobalOpts): string | undefined {
  if (opts.config) return opts.config;
  const d = defaultConfigPath();
  return existsSync(d) ? d : undefined;
}

/** TCP use needs GATEHOUSE_API_URL and GATEHOUSE_TOKEN; otherwise the Unix socket named by the config. */
export function client(opts: GlobalOpts): ApiClient {
  const url = process.env.GATEHOUSE_API_URL;
  if (url) return new ApiClient({ url, token: process.env.GATEHOUSE_TOKEN });
  const file = configFile(opts);
  const socket = file ? loadConfig(file).api.socket : '/var/lib/gatehouse/api.sock';
  return new ApiClient({ socket });
}
