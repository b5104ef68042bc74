import type { FastifyPluginAsync } from 'fastify';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { startAdminServers } from '../../../src/api/server.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface AdminForCli {
  /** http://127.0.0.1:port, where the token is required. */
  readonly tcpAddress: string;
  /** The real CLI (`gatehouse …` from src/ under tsx), reaching this API over TCP as GATEHOUSE_API_URL tells it. */
  cli(args: readonly string[]): Promise<CliResult>;
  close(): Promise<void>;
}

/**
 * The real admin servers with `routes`: the Unix socket in `dir` and loopback TCP on a free port with `token`,
 * and the real CLI pointed at them (with a config file that does not exist, so no local config is read).
 */
export async function startAdminForCli(routes: FastifyPluginAsync, dir: string, token: string): Promise<AdminForCli> {
  const admin = await startAdminServers(routes, {
    socket: join(dir, 'api.sock'),
    listen: '127.0.0.1:0',
    tokenSha256: createHash('sha256').update(token).digest('hex'),
  });
  const tcpAddress = admin.tcpAddress;
  if (tcpAddress === undefined) throw new Error('admin API did not listen on TCP');
  const env = { ...process.env, GATEHOUSE_API_URL: tcpAddress, GATEHOUSE_TOKEN: token, GATEHOUSE_CONFIG: join(dir, 'none.yaml') };
  return {
    tcpAddress,
    close: () => admin.close(),
    cli: (args) =>
      new Promise((done) => {
        execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], { env, timeout: 60_000 }, (err, stdout, stderr) =>
          done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        );
      }),
  };
}
