import type { Contribution, Module, ModuleContext, RunningModule, StopReason } from '../modules/index.js';

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

/** The context minus what the lifecycle fills in per module (config view, log, get, running). */
export type SharedServices<C> = Omit<ModuleContext<C>, 'get' | 'running' | 'log'> & { readonly log: ModuleContext<C>['log'] };

/**
 * Starts `modules` in order. A start that fails part-way stops what already started, in reverse, as a
 * rollback (a firewall that created its table removes it), then rethrows.
 */
export async function startModules<C>(modules: readonly AnyModule<C>[], shared: SharedServices<C>): Promise<Started[]> {
  const started: Started[] = [];
  const provided = new Map<string, unknown>();
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
        // Typed by the ref: each module registers what it provides under its own name.
        get: <P>(ref: { readonly name: string; readonly provides?: P }) => provided.get(ref.name) as P | undefined,
        running,
      };
      const contribution = await m.start(ctx);
      started.push({ name: m.name, contribution });
      if (contribution.provides !== undefined) provided.set(m.name, contribution.provides);
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
