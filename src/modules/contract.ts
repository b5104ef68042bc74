import type { FastifyPluginAsync } from 'fastify';
import type { SectionShape, SectionsBuilder } from '../config/index.js';
// Type-only (erased at build): the one service every module shares. Allowlisted in test/unit/arch-layering.test.ts.
import type { DecisionService } from '../decisions/index.js';
import type { ListenerKey, ListenerLimits } from '../net/listeners.js';
import type { NetworkContext } from '../net/target-guard.js';
import type { EventBus } from '../events/index.js';
import type { Scheduler } from '../scheduler/index.js';
import type { Migrations } from '../store/index.js';
// Type-only (erased at build): the kernel table's vocabulary, which firewall/ owns. Allowlisted in arch-layering.test.ts.
import type { KernelFragment } from '../firewall/index.js';

/*
 * The module contract. Every bounded context (firewall, decisions, feeds, crowdsec, api, clients, and
 * next dns, portal, shaper…) exposes one `Module` from its module.ts (re-exported by its index.ts); the
 * daemon's composition root (src/daemon/modules.ts) lists them, starts those the config enables in
 * dependency order, and stops them in reverse. A module reaches other modules only through what they
 * `provide` (typed calls, see ModuleRef), the shared services of the context, and events on the bus —
 * never through another module's files or tables. A module.ts stays light (its start loads the rest),
 * because every CLI verb reads the config, and with it the module list.
 */

/** What a module logs through: a pino child named after the module. */
export interface ModuleLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): ModuleLog;
}


/** The opened SQLite database every module's repositories are built on (better-sqlite3's handle). */
export type StoreHandle = import('better-sqlite3').Database;

/**
 * The config sections a module owns, by top-level YAML key, built with config/'s field schemas.
 * `config/` composes every module's sections into the one file schema, keeping FILE:LINE:COL messages
 * and "did you mean".
 */
export type ConfigSections<S extends SectionShape = SectionShape> = SectionsBuilder<S>;

/** Why a module is stopped: a plain stop, or a start refused part-way that must leave no trace. */
export type StopReason = 'stop' | 'rollback';

/** What a running module adds to the gateway; every part is optional. */
export interface Contribution<P = undefined> {
  /** Admin API routes (mounted on the Unix socket and on api.listen). */
  readonly routes?: FastifyPluginAsync;
  /** Its part of the one `inet gatehouse` table. */
  readonly kernel?: KernelFragment;
  /** One JSON-able record for `gatehouse status`. */
  readonly status?: () => Readonly<Record<string, unknown>>;
  /** Typed calls other modules may make (see ModuleContext.get). */
  readonly provides?: P;
  /** Undoes the start: closes listeners, stops timers, unsubscribes. Called once, in reverse start order. */
  stop(reason: StopReason): Promise<void>;
}

/** The shared services a module is started with. */
export interface ModuleContext<C> {
  /** The whole validated config, seen through the keys this module reads. */
  readonly config: C;
  readonly log: ModuleLog;
  readonly dataDir: string;
  readonly store: StoreHandle;
  /** Decisions and allow entries: the one service every module reads or feeds. */
  readonly decisions: DecisionService;
  readonly bus: EventBus;
  readonly scheduler: Scheduler;
  /** The gateway's LAN networks and own addresses, re-read now and then (a DHCP lease can move the WAN). */
  readonly network: () => NetworkContext;
  /** Connection caps per listener, already scaled to fit the open-file limit. */
  readonly listenerLimits: Partial<Record<ListenerKey, ListenerLimits>>;
  /** What a module started before this one provides; undefined when that module is off. */
  get<P>(module: ModuleRef<P>): P | undefined;
  /** The modules running so far, in start order, with their status (for `gatehouse status`). */
  running(): readonly RunningModule[];
}

export interface RunningModule {
  readonly name: string;
  readonly status?: () => Readonly<Record<string, unknown>>;
  readonly routes?: FastifyPluginAsync;
}

/** A typed handle on a module by name: what `ctx.get` takes. Each context exports one for its module. */
export interface ModuleRef<P> {
  readonly name: string;
  /** Type only: what the module provides. */
  readonly provides?: P;
}

export function moduleRef<P>(name: string): ModuleRef<P> {
  return { name };
}

export interface Module<C = unknown, P = undefined, S extends SectionShape = SectionShape> extends ModuleRef<P> {
  /** Config sections this module owns (top-level keys). */
  readonly sections: ConfigSections<S>;
  /** Whether the config turns this module on (e.g. the section is present). */
  readonly enabled: (config: C) => boolean;
  /** Modules that must run for this one to work: a config enabling this without them is refused. */
  readonly requires?: readonly string[];
  /** Modules this one uses when they run: started before it when enabled. */
  readonly after?: readonly string[];
  /** Given the file as written: does this module run and need interfaces.lan/wan? */
  readonly needsInterfaces?: (raw: Readonly<Record<string, unknown>>) => boolean;
  /** Config keys (`section.key`) holding TCP listen addresses: config check refuses two on one address. */
  readonly listenKeys?: readonly string[];
  /** Config keys (`section.key`) listing interfaces that must be in interfaces.lan: config check refuses others. */
  readonly lanInterfaceKeys?: readonly string[];
  /** Listeners it opens, by config key: probed before anything starts, so a taken port refuses the start. */
  readonly listeners?: (config: C) => readonly (readonly [ListenerKey, string])[];
  /**
   * Its tables, as append-only steps (store/migrations.ts). Applied when the store opens, for every module
   * in the list whether or not the config enables it, so switching a module on never finds its tables missing.
   */
  readonly migrations?: Migrations;
  readonly start: (ctx: ModuleContext<C>) => Promise<Contribution<P>>;
}
