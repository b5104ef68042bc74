/**
 * The longest duration the store keeps: Go's time.Duration maximum (2562047h47m16.854775807s) in whole
 * seconds, the most any CrowdSec peer can send and the most our own LAPI can send back as Go text.
 * Longer (finite) durations from remote sources are clamped to it, so an expiry is always a safe integer
 * of ms; the kernel holds such decisions by re-assertion (see firewall/timeout.ts).
 */
export const MAX_DURATION_SEC = 9_223_372_036;

/** Why a duration (seconds; undefined/null = never expires) cannot be stored, or undefined when it can. */
export function durationProblem(durationSec: unknown): string | undefined {
  if (durationSec === undefined || durationSec === null) return undefined;
  if (typeof durationSec !== 'number' || !Number.isFinite(durationSec) || durationSec <= 0) {
    return `duration must be a positive number of seconds, not ${String(durationSec)}`;
  }
  return undefined;
}

/** Epoch ms when a decision of this duration ends; the duration must have passed durationProblem. */
export function expiryAfter(durationSec: number | null | undefined, now: number): number | null {
  if (durationSec === undefined || durationSec === null) return null;
  return now + Math.round(Math.min(durationSec, MAX_DURATION_SEC) * 1000);
}
