import { watcherOrigin } from './alerts.js';

/** `lapi.machines[]` of the config: origins a watcher may delete besides its own. */
export interface MachineGrant {
  readonly name: string;
  readonly delete_origins: readonly string[];
}

/**
 * Whether a watcher may delete decisions of this origin. Its own (`lapi:<machine>`) always; anything else
 * only when the config grants it: an exact origin, a prefix ending in `*` ("feed:*"), or `*` for all.
 * A watcher is one compromised agent away from an attacker, so the default is the narrowest.
 */
export function mayDelete(machineId: string, origin: string, grants: readonly MachineGrant[] | undefined): boolean {
  if (origin === watcherOrigin(machineId)) return true;
  const grant = grants?.find((g) => g.name === machineId);
  if (!grant) return false;
  return grant.delete_origins.some((p) => (p.endsWith('*') ? origin.startsWith(p.slice(0, -1)) : origin === p));
}

/**
 * Every origin a watcher may delete, when that is a fixed list (its own plus exact grants); undefined when
 * a pattern ("feed:*", "*") grants a family that only the store can enumerate.
 */
export function deletableOrigins(machineId: string, grants: readonly MachineGrant[] | undefined): string[] | undefined {
  const granted = grants?.find((g) => g.name === machineId)?.delete_origins ?? [];
  if (granted.some((p) => p.endsWith('*'))) return undefined;
  return [...new Set([watcherOrigin(machineId), ...granted])];
}

/** The 403 message for a watcher reaching beyond its grants. */
export function notYours(machineId: string, origin: string): string {
  return `machine ${machineId} may only delete its own decisions (origin ${watcherOrigin(machineId)}), not those of origin ${origin}; grant more in lapi.machines of the gatehouse config`;
}
