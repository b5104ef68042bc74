import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, RouteShorthandOptions } from 'fastify';
import type { Endpoint, ResponseOf } from './contract.js';

/**
 * Registers a route by its entry in the contract's endpoint table: method and path come from the key, and
 * the compiler holds the handler's answer to the table's response type, so the table cannot drift from
 * what the routes serve.
 */
export function route<E extends Endpoint>(
  app: FastifyInstance,
  endpoint: E,
  handler: (req: FastifyRequest, reply: FastifyReply) => Promise<ResponseOf<E>>,
  opts: Pick<RouteShorthandOptions, 'bodyLimit'> = {},
): void {
  const space = endpoint.indexOf(' ');
  app.route({ method: endpoint.slice(0, space) as HTTPMethods, url: endpoint.slice(space + 1), ...opts, handler });
}
