import type { Family } from '../net/ip.js';
import type {
  AllowEntry,
  Direction,
  Decision,
  DecisionFilter,
  ImportResult,
  NewAllowEntry,
  NewDecision,
} from './types.js';

/**
 * What a write changed, small enough to pass around even for a million-row import: listeners that need
 * the rows read them back from the store by id range or by value.
 */
export interface DecisionChange {
  /** Rows this change inserted have ids from `insertedFrom` to `insertedTo` inclusive (none when from > to). */
  readonly insertedFrom: number;
  readonly insertedTo: number;
  /** Values that lost at least one active decision (deleted, replaced or expired). */
  readonly removedValues: readonly string[];
  /**
   * Inserted values that already had another active decision: their kernel state must be recomputed.
   * Every other inserted host value is new to the kernel. Undefined = unknown, recompute all.
   */
  readonly contendedValues?: readonly string[];
  /**
   * Single addresses this change inserted that had no other decision: what the kernel needs, handed over
   * directly so the firewall does not read them back (a bulk import's chunk at a time).
   */
  readonly freshHosts?: readonly FreshHost[];
  /** Allow entries changed: listeners must recompute whatever depends on the allowlist. */
  readonly allowChanged: boolean;
}

export interface FreshHost {
  readonly value: string;
  readonly family: Family;
  readonly direction: Direction;
  readonly expiresAt: number | null;
}

export interface StreamDelta {
  /** Active decisions created after `since` (or all active ones when since is undefined). */
  readonly new: readonly Decision[];
  /** Decisions deleted or expired after `since` (empty when since is undefined). */
  readonly deleted: readonly Decision[];
}

/**
 * The single face of the decision store. Writes are synchronous (SQLite); enforcement follows through
 * the `onChange` listeners, which the daemon wires to the firewall.
 */
export interface DecisionService {
  add(d: NewDecision): Decision;
  /** Bulk add in one transaction; invalid values are skipped and counted. Same value+origin updates in place. */
  addMany(ds: Iterable<NewDecision>): ImportResult;
  /** Replace every decision of one origin with this list (feeds, CrowdSec sync); returns what changed. */
  replaceOrigin(origin: string, ds: Iterable<NewDecision>): ImportResult & { readonly removed: number };
  get(id: number): Decision | undefined;
  list(filter?: DecisionFilter): Decision[];
  count(filter?: DecisionFilter): number;
  delete(id: number): Decision | undefined;
  /** Deletes every active decision matching; returns the deleted ones. */
  deleteWhere(filter: { value?: string; origin?: string; scenario?: string }): Decision[];
  /** Retires this origin's decisions for these values in one transaction (a feed's removed lines). */
  deleteValues(origin: string, values: readonly string[]): number;
  /**
   * Values with an active decision of this origin, read from the store as they are pulled, so a
   * million-line feed is never a million strings at once. Consume it in one go: the store cannot write
   * while the read is open.
   */
  valuesOf(origin: string): Iterable<string>;
  /** Active decisions covering this IP/CIDR (equal, or a range containing it). */
  covering(value: string): Decision[];
  /** For the CrowdSec stream: changes since an epoch-ms instant. */
  changesSince(since: number | undefined, now?: number): StreamDelta;

  addAllow(a: NewAllowEntry): AllowEntry;
  listAllow(): AllowEntry[];
  deleteAllow(idOrValue: number | string): AllowEntry | undefined;
  /** Allow entries covering this IP/CIDR. */
  allowCovering(value: string): AllowEntry[];

  /** Removes decisions and allow entries whose expiry has passed; returns the removed decisions. */
  expire(now?: number): Decision[];

  onChange(listener: (c: DecisionChange) => void): () => void;
}
