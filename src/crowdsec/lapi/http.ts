import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RawQuery } from './query.js';

export const JSON_TYPE = 'application/json; charset=utf-8';
export const FORBIDDEN = '{"message":"access forbidden"}';
export const NOT_FOUND = '{"message":"Page or Method not found"}';

/** An answer with this status and `{"message": …}`, through the LAPI's error handler. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function queryOf(req: FastifyRequest): RawQuery {
  return (req.query ?? {}) as RawQuery;
}

export function sendJson(reply: FastifyReply, body: string) {
  return reply.header('content-type', JSON_TYPE).send(body);
}

export async function* wrap(head: string, body: AsyncIterable<string>, tail: string): AsyncGenerator<string> {
  if (head) yield head;
  for await (const chunk of body) yield chunk;
  if (tail) yield tail;
}
