/*
 * The labels of one LAPI request for `gatehouse_lapi_requests_total`: a bounded set whatever the clients
 * send. The route is the template fastify matched (`/v1/decisions/:decision_id`), never the URL, so ids,
 * query strings and scanners' probes cannot grow the metric.
 */

export interface LapiRequestLabels {
  /** A registered route's template, or `other` (unknown paths: the catch-all answers them 404). */
  readonly route: string;
  /** GET, POST, … or `other`. */
  readonly method: string;
  /** The status code sent, e.g. "200", "403". */
  readonly code: string;
}

export const OTHER = 'other';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** `routeUrl`: fastify's `request.routeOptions.url` (undefined when no route matched). */
export function lapiRequestLabels(routeUrl: string | undefined, method: string, status: number): LapiRequestLabels {
  // The catch-all ('/*') and any other wildcard route would put whatever was asked under one template anyway.
  const route = routeUrl && routeUrl.startsWith('/') && !routeUrl.includes('*') ? routeUrl : OTHER;
  const m = method.toUpperCase();
  return {
    route,
    method: METHODS.has(m) ? m : OTHER,
    code: Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : OTHER,
  };
}
