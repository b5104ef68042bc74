import type { FastifyInstance } from 'fastify';

/** Listens on a free loopback port and answers the base URL, e.g. `http://127.0.0.1:41234`. */
export async function listenOnLoopback(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}
