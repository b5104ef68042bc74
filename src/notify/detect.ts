import type { BlockHit } from '../store/index.js';
import type { GatehouseEvents } from '../events/index.js';
import type { Notice, Severity } from './types.js';

/*
 * Pure translations from what the other modules report to notices. The stateful bits (first hits, burst
 * windows) take their memory as arguments, so each is testable without a bus.
 */

export function whyText(h: Pick<BlockHit, 'decisions'>): string {
  if (h.decisions.length === 0) return 'decision since removed';
  return h.decisions.map((d) => `${d.origin}${d.scenario ? '/' + d.scenario : ''}${d.reason ? ': ' + d.reason : ''}`).join('; ');
}

const who = (h: Pick<BlockHit, 'clientIp' | 'clientName' | 'clientMac'>): string =>
  h.clientName ? `${h.clientName} (${h.clientIp})` : h.clientMac ? `${h.clientIp} (${h.clientMac})` : h.clientIp;

/** The first time a client hits a listed remote: the seed's phishing case. */
export function outboundNotice(h: BlockHit): Notice {
  const target = `${h.remoteIp}${h.port ? ':' + h.port : ''}/${h.protocol}${h.domain ? ` (${h.domain})` : ''}`;
  const verb = h.mode === 'monitored' ? 'would have been blocked reaching' : 'was blocked reaching';
  return {
    kind: 'outbound_block_new',
    severity: 'warning',
    key: h.clientName ?? h.clientIp,
    text: `${who(h)} ${verb} ${target} — ${whyText(h)}`,
    at: h.seenAt,
    data: {
      client: h.clientIp,
      clientMac: h.clientMac,
      clientName: h.clientName,
      remote: h.remoteIp,
      port: h.port,
      protocol: h.protocol,
      domain: h.domain ?? null,
      mode: h.mode,
      why: h.decisions,
    },
  };
}

/** Counts in a fixed window; says once per window when the threshold is crossed. */
export class BurstWindow<K extends string = string> {
  private start = 0;
  private total = 0;
  private fired = false;
  readonly by = new Map<K, number>();

  constructor(
    private readonly windowMs: number,
    private readonly threshold: number,
  ) {}

  /** Adds `n` for `key` at `now`; true when this crossed the threshold in the current window. */
  add(key: K, n: number, now: number): boolean {
    if (now - this.start >= this.windowMs) {
      this.start = now;
      this.total = 0;
      this.fired = false;
      this.by.clear();
    }
    this.total += n;
    // Bounded: an attack from many addresses only keeps the first 10k.
    if (this.by.has(key) || this.by.size < 10_000) this.by.set(key, (this.by.get(key) ?? 0) + n);
    if (!this.fired && this.total >= this.threshold) {
      this.fired = true;
      return true;
    }
    return false;
  }

  get count(): number {
    return this.total;
  }

  top(n: number): [K, number][] {
    return [...this.by].sort((a, b) => b[1] - a[1]).slice(0, n);
  }
}

export function inboundBurstNotice(w: BurstWindow, windowMs: number, now: number): Notice {
  const top = w.top(5);
  return {
    kind: 'inbound_burst',
    severity: 'warning',
    key: 'inbound',
    text: `${w.count} blocked inbound attempts within ${Math.round(windowMs / 1000)} s; top: ${top.map(([ip, c]) => `${ip} (${c})`).join(', ')}`,
    at: now,
    data: { attempts: w.count, windowMs, top: top.map(([ip, count]) => ({ ip, count })) },
  };
}

export function feedNotice(e: GatehouseEvents['feeds.refused'], crowdsec: boolean, at: number): Notice {
  if (crowdsec) {
    return { kind: 'lapi_unreachable', severity: 'critical', key: e.feed, text: `CrowdSec feed ${e.feed}: ${e.message}`, at, data: { feed: e.feed, outcome: e.outcome, message: e.message } };
  }
  return {
    kind: 'feed_problem',
    severity: 'warning',
    key: e.feed,
    text: `feed ${e.feed} ${e.outcome}: ${e.message} (the previous list stays enforced)`,
    at,
    data: { feed: e.feed, outcome: e.outcome, message: e.message },
  };
}

export function staleNotice(feed: string, lastSuccessAt: number | null, at: number): Notice {
  const since = lastSuccessAt ? `since ${new Date(lastSuccessAt).toISOString()}` : 'ever since the start';
  return { kind: 'feed_problem', severity: 'warning', key: feed, text: `feed ${feed} is stale: no successful refresh ${since}`, at, data: { feed, outcome: 'stale', lastSuccessAt } };
}

export function restartNotice(clean: boolean, version: string, at: number): Notice {
  const severity: Severity = clean ? 'info' : 'warning';
  return {
    kind: 'daemon_restarted',
    severity,
    key: 'daemon',
    text: clean ? `Gatehouse ${version} started` : `Gatehouse ${version} started after an unclean stop (crash, kill or power loss)`,
    at,
    data: { clean, version },
  };
}

/** The portal's refused login, as the portal publishes it (read defensively: the portal may be absent or newer). */
export interface LoginFailed {
  readonly client: string;
  readonly user?: string;
  readonly reason: string;
}

export function readLoginFailed(p: unknown): LoginFailed | undefined {
  if (typeof p !== 'object' || p === null) return undefined;
  const o = p as Record<string, unknown>;
  if (typeof o.client !== 'string') return undefined;
  return { client: o.client, reason: typeof o.reason === 'string' ? o.reason : 'refused', ...(typeof o.user === 'string' ? { user: o.user } : {}) };
}

export function bruteforceNotice(client: string, attempts: number, users: readonly string[], windowMs: number, at: number): Notice {
  return {
    kind: 'portal_bruteforce',
    severity: 'warning',
    key: client,
    text: `${attempts} failed portal logins from ${client} within ${Math.round(windowMs / 1000)} s${users.length ? ` (users tried: ${users.slice(0, 5).join(', ')})` : ''}`,
    at,
    data: { client, attempts, users: users.slice(0, 20) },
  };
}

export function readP2pFlagged(p: unknown): { client: string; evidence: Record<string, unknown> } | undefined {
  if (typeof p !== 'object' || p === null) return undefined;
  const o = p as Record<string, unknown>;
  if (typeof o.client !== 'string') return undefined;
  return { client: o.client, evidence: typeof o.evidence === 'object' && o.evidence !== null ? (o.evidence as Record<string, unknown>) : {} };
}

export function p2pNotice(client: string, evidence: Record<string, unknown>, at: number): Notice {
  const sigs = Array.isArray(evidence.signatures) ? evidence.signatures.filter((s): s is string => typeof s === 'string') : [];
  const peers = typeof evidence.peers === 'number' ? evidence.peers : undefined;
  const what = [sigs.length ? `signatures ${sigs.join(', ')}` : '', peers !== undefined ? `${peers} peers` : ''].filter(Boolean).join(', ');
  return { kind: 'p2p_flagged', severity: 'info', key: client, text: `${client} flagged for P2P${what ? ` (${what})` : ''}`, at, data: { client, evidence } };
}
