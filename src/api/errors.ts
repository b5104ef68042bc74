import type { FastifyReply } from 'fastify';
import type { ApiErrorBody } from './contract.js';

/** A request the caller can fix: a bad field, a refused value. */
export class BadRequest extends Error {
  override name = 'BadRequest';
}

/** The thing the request names is not there. */
export class NotFound extends Error {
  override name = 'NotFound';
}

/**
 * Error class → HTTP status, for every HTTP face (the admin API here; the LAPI keeps CrowdSec's wire format
 * but can ask the same table). By name: the classes live in their contexts, which must not import the API.
 * Anything not listed is ours to fix: a 500.
 */
const STATUS_BY_ERROR: ReadonlyMap<string, number> = new Map([
  ['BadRequest', 400],
  // decisions: a value or field the store cannot take (an empty filter, a bad scope)
  ['InputError', 400],
  // net/ip: not an IP address or CIDR range
  ['InvalidTargetError', 400],
  ['DurationError', 400],
  ['ZodError', 400],
  // CrowdSec credentials: a name that is taken or malformed, a password too short or long
  ['CredentialError', 400],
  // LAPI: an alert a watcher sent that cannot be read
  ['AlertFormatError', 400],
  ['NotFound', 404],
]);

/**
 * The status for an error: by its class, else the 4xx fastify gave its own (bad JSON, body too large, wrong
 * content type), else undefined (an internal error).
 */
export function statusOf(err: Error & { statusCode?: number }): number | undefined {
  const byClass = STATUS_BY_ERROR.get(err.name);
  if (byClass !== undefined) return byClass;
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return err.statusCode;
  return undefined;
}

/** The admin API's error answer: `{ error }`, with "internal error: " before what the caller cannot fix. */
export function sendError(err: Error & { statusCode?: number }, reply: FastifyReply): void {
  const status = statusOf(err);
  const body: ApiErrorBody = { error: status === undefined ? `internal error: ${err.message}` : err.message };
  void reply.code(status ?? 500).send(body);
}
