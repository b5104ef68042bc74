import type { Contribution, Module, ModuleContext, ModuleRef, RunningModule, StopReason } from '../modules/index.js';

/* Starting the enabled modules in dependency order, and stopping them in reverse. */

/** A module as the lifecycle handles it: whatever its config view, it is started with the whole config. */
export type AnyModule<C> = Module<C, unknown>;

export class ModuleOrderError extends Error {
  override name = 'ModuleOrderError';
}

/**
 * The enabled modules in start order: each after the modules it `requires` or runs `after` (when those are
 * enabled), otherwise in list order. A module whose `requires` is off, or a cycle, is refused.
 */
export function startOrder<M extends { readonly name: string; readonly requires?: readonly string[]; readonly after?: readonly string[] }>(enabled: readonly M[], all: readonly M[]): M[] {
  const byName = new Map(enabled.map((m) => [m.name, m]));
  for (const m of enabled) {
    for (const r of m.requires ?? []) {
      if (!byName.has(r)) {
        const known = all.some((x) => x.name === r);
        throw new ModuleOrderError(known ? `module ${m.name} needs module ${r}, which the config leaves off` : `module ${m.name} needs an unknown module ${r}`);
      }
    }
  }
  const out: M[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: M, path: readonly string[]): void => {
    const s = state.get(m.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new ModuleOrderError(`modules depend on each other in a circle: ${[...path, m.name].join(' → ')}`);
    state.set(m.name, 'visiting');
    for (const d of [...(m.requires ?? []), ...(m.after ?? [])]) {
      const dep = byName.get(d);
      if (dep) visit(dep, [...path, m.name]);
    }
    state.set(m.name, 'done');
    out.push(m);
  };
  for (const m of enabled) visit(m, []);
  return out;
}

export interface Started {
  readonly name: string;
  readonly contribution: Contribution<unknown>;
}

/**
 * What a started module provides, typed by its ref. The one cast of the composition: a module's provides
 * are registered under its name, and its ref (declared next to the module, with the same name) carries
 * their type.
 */
export function providedBy<P>(started: readonly Started[], ref: ModuleRef<P>): P | undefined {
  return started.find((s) => s.name === ref.name)?.contribution.provides as P | undefined;
}

/** The context minus what the lifecycle fills in per module (config view, log, get, running). */
export type SharedServices<C> = Omit<ModuleContext<C>, 'get' | 'running' | 'log'> & { readonly log: ModuleContext<C>['log'] };

/**
 * Starts `modules` in order. A start that fails part-way stops what already started, in reverse, as a
 * rollback (a firewall that created its table removes it), then rethrows.
 */
export async function startModules<C>(modules: readonly AnyModule<C>[], shared: SharedServices<C>): Promise<Started[]> {
  const started: Started[] = [];
  const running = (): RunningModule[] =>
    started.map((s) => ({
      name: s.name,
      ...(s.contribution.status ? { status: s.contribution.status } : {}),
      ...(s.contribution.routes ? { routes: s.contribution.routes } : {}),
    }));
  try {
    for (const m of modules) {
      const ctx: ModuleContext<C> = {
        ...shared,
        log: shared.log.child({ module: m.name }),
        get: (ref) => providedBy(started, ref),
        running,
      };
      const contribution = await m.start(ctx);
      started.push({ name: m.name, contribution });
    }
  } catch (e) {
    await stopModules(started, 'rollback', shared.log);
    throw e;
  }
  return started;
}

/** Stops in reverse start order; one module's failure to stop does not keep the others running. */
export async function stopModules(started: readonly Started[], reason: StopReason, log: { error(o: object, m: string): void }): Promise<void> {
  for (const s of [...started].reverse()) {
    try {
      await s.contribution.stop(reason);
    } catch (e) {
      log.error({ module: s.name, err: (e as Error).message }, `module ${s.name} did not stop cleanly`);
    }
  }
}
