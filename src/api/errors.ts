import type { FastifyReply } from 'fastify';
import type { ApiErrorBody } from './contract.js';
import { statusOf } from '../net/http-errors.js';

/** A request the caller can fix: a bad field, a refused value. */
export class BadRequest extends Error {
  override name = 'BadRequest';
}

/** The thing the request names is not there. */
export class NotFound extends Error {
  override name = 'NotFound';
}

/** The admin API's error answer: `{ error }`, with "internal error: " before what the caller cannot fix. */
export function sendError(err: Error & { statusCode?: number }, reply: FastifyReply): void {
  const status = statusOf(err);
  const body: ApiErrorBody = { error: status === undefined ? `internal error: ${err.message}` : err.message };
  void reply.code(status ?? 500).send(body);
}
