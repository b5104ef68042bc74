import type { Family, Target } from '../net/ip.js';

/** Which traffic a decision applies to: inbound = remote is the source, outbound = remote is the destination. */
export type Direction = 'inbound' | 'outbound' | 'both';
export const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound', 'both'];

/** Origins: 'manual', 'engine', 'crowdsec', 'feed:<name>', 'lapi:<machine>' (alerts pushed by a watcher). */
export type Origin = string;

export interface Decision {
  readonly id: number;
  /** Canonical IP or CIDR text (see net/ip.ts parseTarget). */
  readonly value: string;
  readonly family: Family;
  readonly prefix: number;
  /** CrowdSec wording: 'ip' for a single address, 'range' for a CIDR. */
  readonly scope: 'ip' | 'range';
  readonly type: 'ban';
  readonly origin: Origin;
  readonly reason: string;
  readonly scenario: string;
  readonly direction: Direction;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** Epoch milliseconds; null = until deleted. */
  readonly expiresAt: number | null;
}

export interface NewDecision {
  readonly value: string;
  /** The value already parsed (a feed's or an import's own parse): saves a second parse per line. */
  readonly target?: Target;
  readonly origin: Origin;
  readonly reason?: string;
  readonly scenario?: string;
  readonly direction?: Direction;
  /** Seconds from now; undefined or null = until deleted. */
  readonly durationSec?: number | null;
}

export interface AllowEntry {
  readonly id: number;
  readonly value: string;
  readonly family: Family;
  readonly prefix: number;
  readonly reason: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

export interface NewAllowEntry {
  readonly value: string;
  readonly reason?: string;
  readonly durationSec?: number | null;
}

export interface DecisionFilter {
  readonly origin?: string;
  /** Only decisions whose value equals or covers/is covered by this IP/CIDR. */
  readonly value?: string;
  readonly scope?: 'ip' | 'range';
  readonly direction?: Direction;
  readonly limit?: number;
  /** Only decisions with id greater than this (stream deltas). */
  readonly afterId?: number;
}

/** What an import or a bulk replace did; skipped lines are counted, never fatal. */
export interface ImportResult {
  readonly added: number;
  readonly updated: number;
  readonly skipped: number;
  /** The first few skipped lines with their line number, to show the admin. */
  readonly skippedSamples: readonly { line: number; text: string; why: string }[];
}
