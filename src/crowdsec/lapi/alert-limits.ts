/**
 * Bounds on what one `POST /v1/alerts` may carry and on what of it is kept. A crowdsec agent pushes the
 * alerts of the last second (all of its backlog after an outage); `cscli decisions import` sends one alert
 * holding the whole list. The limits sit well above both, and the 50 MiB body cap bounds them anyway.
 */
export const ALERT_LIMITS = {
  alertsPerRequest: 10_000,
  decisionsPerRequest: 500_000,
  /** Events kept per stored alert: `cscli alerts inspect` shows them; the count the agent sent is kept as is. */
  storedEvents: 100,
  /** Bytes of events kept per stored alert. */
  storedEventBytes: 32 * 1024,
  /** Longer strings (message, scenario hash…) are cut; other big fields are left out of the stored copy. */
  storedField: 4096,
  /** Bytes of all fields but the events together: fields past it are left out. */
  storedFieldBytes: 16 * 1024,
} as const;

export class AlertLimitError extends Error {
  override name = 'AlertLimitError';
  readonly statusCode = 413;
}

/** Refuses a request before any of it is taken: a partial accept would make the agent resend the rest twice. */
export function checkAlertLimits(body: unknown): void {
  if (!Array.isArray(body)) return;
  if (body.length > ALERT_LIMITS.alertsPerRequest) {
    throw new AlertLimitError(`${body.length} alerts in one request; at most ${ALERT_LIMITS.alertsPerRequest} are taken at once`);
  }
  let decisions = 0;
  for (const a of body) {
    const ds = typeof a === 'object' && a !== null ? (a as { decisions?: unknown }).decisions : undefined;
    if (Array.isArray(ds)) decisions += ds.length;
  }
  if (decisions > ALERT_LIMITS.decisionsPerRequest) {
    throw new AlertLimitError(`${decisions} decisions in one request; at most ${ALERT_LIMITS.decisionsPerRequest} are taken at once (split the import)`);
  }
}

/**
 * The copy of an alert kept for `GET /v1/alerts`: without its decisions (stored as references), with at most
 * `storedEvents` events and `storedEventBytes` of them, strings cut and other oversized fields left out.
 */
export function storedAlert(alert: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let fieldBytes = 0;
  for (const [k, v] of Object.entries(alert)) {
    if (k === 'decisions' || k === 'events') continue;
    const kept = typeof v === 'string' ? v.slice(0, ALERT_LIMITS.storedField) : v;
    const json = JSON.stringify(kept ?? null) ?? 'null';
    if (typeof v !== 'string' && json.length > ALERT_LIMITS.storedField) continue;
    const size = k.length + json.length;
    if (fieldBytes + size > ALERT_LIMITS.storedFieldBytes) continue;
    fieldBytes += size;
    out[k] = kept;
  }
  if (Array.isArray(alert.events)) {
    const events: unknown[] = [];
    let bytes = 0;
    for (const e of alert.events) {
      if (events.length >= ALERT_LIMITS.storedEvents) break;
      bytes += JSON.stringify(e ?? null).length;
      if (bytes > ALERT_LIMITS.storedEventBytes) break;
      events.push(e);
    }
    out.events = events;
  }
  return out;
}
