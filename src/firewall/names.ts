import type { Family } from '../net/ip.js';

/** Names of the sets in Gatehouse's table; one place so the renderer, the enforcer and the collector agree. */
export type HostSetDir = 'both' | 'in' | 'out';
export type HitDir = 'in' | 'out';

export const HOST_DIRS: readonly HostSetDir[] = ['both', 'in', 'out'];
export const FAMILIES: readonly Family[] = [4, 6];

export const hostSet = (dir: HostSetDir, f: Family): string => `${dir}_ip${f}`;
export const netSet = (dir: HitDir, f: Family): string => `${dir}_net${f}`;
export const allowSet = (f: Family): string => `allow${f}`;
export const hitSet = (dir: HitDir, f: Family): string => `hit_${dir}${f}`;

export const IFACE_NAME = /^[A-Za-z0-9_.@-]{1,15}$/;
export const TABLE_NAME = /^[a-z][a-z0-9_]{0,30}$/;
