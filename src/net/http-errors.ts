/**
 * Error class → HTTP status: the one table every HTTP face uses (the admin API; the LAPI can wrap CrowdSec's
 * wire format around it). By name, because the classes live in their contexts and this leaf, which any
 * layer's server may ask, imports none of them. Anything not listed is ours to fix: a 500.
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
