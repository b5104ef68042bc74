import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import type { ListenerKey, ListenerLimits } from '../net/listeners.js';
import type { NetworkContext } from '../net/target-guard.js';

/*
 * The module contract. Every bounded context (firewall, decisions, feeds, crowdsec, api, clients, and
 * next dns, portal, shaper…) exposes one `Module` from its index.ts; the daemon's composition root
 * (src/daemon/modules.ts) lists them, starts those the config enables in dependency order, and stops them
 * in reverse. A module reaches other modules only through what they `provide` (typed calls), the shared
 * services of the context, and events on the bus — never through another module's files or tables.
 *
 * Placeholders until their owners publish (then replaced by their types, same field names):
 * - `EventBus` and `Scheduler`: helper n2 (src/events/, src/scheduler/).
 * - `KernelFragment`: helper n3 (src/firewall/).
 * - `Migration`: helper n5 (store migrations).
 */

/** What a module logs through: a pino child named after the module. */
export interface ModuleLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): ModuleLog;
}

/** Placeholder for n2's typed event bus. */
export interface EventBus {
  readonly placeholder?: never;
}

/** Placeholder for n2's scheduler with an injectable clock. */
export interface Scheduler {
  readonly placeholder?: never;
}

/** Placeholder for n3's kernel fragment (sets, maps, chains hooked at named points of `inet gatehouse`). */
export interface KernelFragment {
  readonly placeholder?: never;
}

/** Placeholder for n5's append-only, per-module migration. */
export interface Migration {
  readonly id: string;
}

/** The opened SQLite database every module's repositories are built on (better-sqlite3's handle). */
export type StoreHandle = import('better-sqlite3').Database;

/**
 * The config sections a module owns, by top-level YAML key. `config/` composes every module's sections
 * into the one file schema, keeping FILE:LINE:COL messages and "did you mean".
 */
export type ConfigSections = Readonly<Record<string, z.ZodType>>;

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
  stop(): Promise<void>;
}

/** The shared services a module is started with. */
export interface ModuleContext<C> {
  /** The whole validated config, seen through the keys this module reads. */
  readonly config: C;
  readonly log: ModuleLog;
  readonly dataDir: string;
  readonly store: StoreHandle;
  readonly bus: EventBus;
  readonly scheduler: Scheduler;
  /** The gateway's LAN networks and own addresses, re-read now and then (a DHCP lease can move the WAN). */
  readonly network: () => NetworkContext;
  /** Connection caps per listener, already scaled to fit the open-file limit. */
  readonly listenerLimits: Partial<Record<ListenerKey, ListenerLimits>>;
  /** What a module started before this one provides; undefined when that module is off. */
  get<P>(module: Module<never, P>): P | undefined;
}

export interface Module<C = unknown, P = undefined> {
  readonly name: string;
  /** Config sections this module owns (top-level keys). */
  readonly sections: ConfigSections;
  /** Whether the config turns this module on (e.g. the section is present). */
  readonly enabled: (config: C) => boolean;
  /** Modules that must run for this one to work: a config enabling this without them is refused. */
  readonly requires?: readonly string[];
  /** Modules this one uses when they run: started before it when enabled. */
  readonly after?: readonly string[];
  /** Interfaces (interfaces.lan/wan) needed while this module is on. */
  readonly needsInterfaces?: boolean;
  /** TCP listeners and sockets it opens, by config key: checked before anything starts. */
  readonly listeners?: (config: C) => readonly (readonly [ListenerKey, string])[];
  readonly migrations?: readonly Migration[];
  readonly start: (ctx: ModuleContext<C>) => Promise<Contribution<P>>;
}
