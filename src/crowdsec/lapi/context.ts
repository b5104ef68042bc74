import type { FastifyRequest } from 'fastify';
import type { DecisionService } from '../../decisions/service.js';
import type { Decision, Direction } from '../../decisions/types.js';
import type { NetworkContext } from '../../net/target-guard.js';
import type { Db } from '../../store/db.js';
import type { LapiCredentials } from '../../store/lapi-credentials.js';
import type { LapiAlerts } from '../../store/lapi-alerts.js';
import type { AlertViews } from './alert-view.js';
import type { LapiDecisionReads } from './decision-reads.js';
import type { MachineGrant } from './permissions.js';
import type { ActivePages, AllowCheck } from './stream.js';

export interface LapiDeps {
  readonly decisions: DecisionService;
  readonly credentials: LapiCredentials;
  /** The store's database, where the LAPI's alerts live and its own reads of the decisions run. */
  readonly db: Db;
  /** What a watcher's alert without decisions turns into (CrowdSec's default profile: ban 4h). */
  readonly profile: { readonly durationMs: number; readonly direction: Direction };
  readonly now?: () => number;
  /** HS256 key for watcher tokens; at least 32 bytes. */
  readonly jwtSecret: Buffer;
  /** Also answer `GET /health` → {"status":"up"} (off when the host listener has its own). Default true. */
  readonly serveHealth?: boolean;
  /** `lapi.machines`: origins a watcher may delete besides its own. */
  readonly machines?: readonly MachineGrant[];
  /** The gateway's LAN networks and own addresses, which no alert may ban (read fresh per request). */
  readonly network?: () => NetworkContext;
  /** Where refused decisions are reported; default the request's logger. */
  readonly log?: { warn(obj: object, msg: string): void };
}

/** What the route groups of one LAPI instance share. */
export interface LapiContext {
  readonly deps: LapiDeps;
  readonly clock: () => number;
  readonly pages: ActivePages;
  readonly reads: LapiDecisionReads;
  readonly alerts: LapiAlerts;
  readonly views: AlertViews;
  /** Active decisions of exactly this value, cached until the store changes. */
  activeFor(value: string): Decision[];
  allowCheck(): AllowCheck | undefined;
  /** Values with several decisions, for dedup. */
  sharedValues(): Set<string>;
  /** The machine id of each authenticated watcher request. */
  readonly watchers: WeakMap<FastifyRequest, string>;
  /** Decisions the guard refused per watcher since start: a watcher that keeps trying stands out in the log. */
  readonly refusedByMachine: Map<string, number>;
}
