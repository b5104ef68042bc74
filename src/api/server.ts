import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { sendError } from './errors.js';
import { ListenError, limitedFastify, listenOn, type ListenerKey, type ListenerSetup } from '../net/listeners.js';

function tokenMatches(header: string | undefined, sha256Hex: string): boolean {
  const m = /^Bearer\s+(.+)$/.exec(header ?? '');
  if (!m) return false;
  const got = createHash('sha256').update(m[1]!).digest();
  const want = Buffer.from(sha256Hex, 'hex');
  return want.length === got.length && timingSafeEqual(got, want);
}

export interface AdminServers {
  readonly tcpAddress?: string;
  close(): Promise<void>;
}

function build(key: ListenerKey, setup: ListenerSetup, routes: FastifyPluginAsync, tokenSha256?: string): FastifyInstance {
  const app = limitedFastify(key, setup, { bodyLimit: 1024 * 1024 });
  app.setErrorHandler((err, _req, reply) => sendError(err as Error & { statusCode?: number }, reply));
  app.setNotFoundHandler((req, reply) => void reply.code(404).send({ error: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` }));
  if (tokenSha256) {
    app.addHook('onRequest', async (req, reply) => {
      if (!tokenMatches(req.headers.authorization, tokenSha256)) {
        await reply.code(401).send({ error: 'missing or wrong API token (Authorization: Bearer …)' });
      }
    });
  }
  void app.register(routes);
  return app;
}

/**
 * The admin API on a Unix socket that only root can open (the file's mode is the authentication), and
 * optionally on TCP, where every request must carry the token whose SHA-256 the config holds.
 */
export async function startAdminServers(
  routes: FastifyPluginAsync,
  opts: { socket: string; listen?: string; tokenSha256?: string },
  setup: ListenerSetup = {},
): Promise<AdminServers> {
  // Checked before anything listens: a refused start must not leave a half-started server behind.
  if (opts.listen && (!opts.tokenSha256 || !/^[0-9a-f]{64}$/i.test(opts.tokenSha256))) {
    throw new Error('api.listen needs api.token_sha256 (64 hex digits)');
  }
  try {
    await mkdir(dirname(opts.socket), { recursive: true, mode: 0o700 });
    await rm(opts.socket, { force: true });
  } catch (e) {
    throw new ListenError(`api.socket: cannot place the socket at ${opts.socket}: ${(e as Error).message}`);
  }
  const unixApp = build('api.socket', setup, routes);
  await listenOn(unixApp, 'api.socket', opts.socket);
  await chmod(opts.socket, 0o600);
  let tcpApp: FastifyInstance | undefined;
  let tcpAddress: string | undefined;
  if (opts.listen) {
    try {
      tcpApp = build('api.listen', setup, routes, opts.tokenSha256);
      tcpAddress = await listenOn(tcpApp, 'api.listen', opts.listen);
    } catch (e) {
      await unixApp.close();
      throw e;
    }
  }
  return {
    tcpAddress,
    async close() {
      await Promise.allSettled([unixApp.close(), tcpApp?.close()]);
      await rm(opts.socket, { force: true });
    },
  };
}
