import type { NewDecision } from '../../decisions/index.js';
import { tryParseDuration as parseGoDuration } from '../../config/index.js';

/**
 * Pure part of `POST /v1/alerts`: which of a watcher's alerts and decisions we can take, and as what.
 * CrowdSec's profiles decide for alerts that carry no decision (default profile: remediation + Ip scope →
 * ban 4h); we apply our one profile the same way, for Ip and Range sources.
 */

export interface AlertInput {
  readonly scenario: string;
  readonly sourceScope: string;
  readonly sourceValue: string;
  readonly simulated: boolean;
  readonly decisions: readonly NewDecision[];
  /** Decisions we could not take: other types (captcha…), other scopes (username…), bad durations. */
  readonly skipped: readonly string[];
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface AlertProfile {
  readonly durationMs: number;
  readonly direction: NewDecision['direction'];
}

export class AlertFormatError extends Error {
  override name = 'AlertFormatError';
}

function rec(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** Our origin for what a watcher pushes: kept apart from 'crowdsec' (decisions we pull from a real LAPI). */
export function watcherOrigin(machineId: string): string {
  return `lapi:${machineId}`;
}

export function parseAlerts(body: unknown, machineId: string, profile: AlertProfile): AlertInput[] {
  if (!Array.isArray(body)) throw new AlertFormatError('alerts must be a JSON array');
  return body.map((a, i) => parseAlert(a, i, machineId, profile));
}

function parseAlert(a: unknown, index: number, machineId: string, profile: AlertProfile): AlertInput {
  const alert = rec(a);
  if (!alert) throw new AlertFormatError(`alert #${index} is not an object`);
  const scenario = str(alert.scenario);
  const source = rec(alert.source) ?? {};
  const sourceScope = str(source.scope);
  const sourceValue = str(source.value) || str(source.ip) || str(source.range);
  const simulated = alert.simulated === true;
  const origin = watcherOrigin(machineId);
  const decisions: NewDecision[] = [];
  const skipped: string[] = [];
  const given = alert.decisions;
  if (given !== undefined && given !== null && !Array.isArray(given)) throw new AlertFormatError(`alert #${index}: decisions must be an array`);
  const list = Array.isArray(given) ? given : [];
  for (const raw of list) {
    const d = rec(raw);
    if (!d) {
      skipped.push('not an object');
      continue;
    }
    const scope = str(d.scope).toLowerCase();
    const type = str(d.type).toLowerCase() || 'ban';
    const value = str(d.value);
    if (scope !== 'ip' && scope !== 'range') {
      skipped.push(`${str(d.scope)}:${value} (scope not supported)`);
      continue;
    }
    if (type !== 'ban') {
      skipped.push(`${value} (type ${type} not supported)`);
      continue;
    }
    const durationText = str(d.duration);
    const ms = durationText ? parseGoDuration(durationText) : profile.durationMs;
    if (ms === undefined || ms <= 0) {
      skipped.push(`${value} (bad duration ${JSON.stringify(durationText)})`);
      continue;
    }
    decisions.push({
      value,
      origin,
      scenario: str(d.scenario) || scenario,
      reason: scenario,
      direction: profile.direction,
      durationSec: ms / 1000,
    });
  }
  const scopeLc = sourceScope.toLowerCase();
  if (list.length === 0 && alert.remediation === true && (scopeLc === 'ip' || scopeLc === 'range') && sourceValue) {
    decisions.push({ value: sourceValue, origin, scenario, reason: scenario, direction: profile.direction, durationSec: profile.durationMs / 1000 });
  }
  return { scenario, sourceScope, sourceValue, simulated, decisions: simulated ? [] : decisions, skipped, raw: alert };
}
