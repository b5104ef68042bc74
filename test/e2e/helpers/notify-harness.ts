import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { configFromObject, gatehouseModules, type GatehouseConfig } from '../../../src/daemon/index.js';
import { openDecisionStore, type DecisionStore } from '../../../src/decisions/index.js';
import { createEventBus, type EventBus } from '../../../src/events/index.js';
import type { Contribution, ModuleContext } from '../../../src/modules/index.js';
import { notifyModule, type NotifyApi, type NotifyView } from '../../../src/notify/index.js';
import { createScheduler, type Clock, type Scheduler } from '../../../src/scheduler/index.js';
import type { AnyModule } from '../../../src/daemon/lifecycle.js';

/**
 * The notify module started on its own, in-process, on a real SQLite store in a temp dir and the real bus,
 * with the scheduler's clock of the caller's choice (a ManualClock for the digest). What the daemon gives
 * it is here; the other modules are absent (notify reads them only when they run).
 */
export class NotifyHarness {
  private constructor(
    readonly dir: string,
    readonly store: DecisionStore,
    readonly bus: EventBus,
    readonly scheduler: Scheduler,
    readonly raw: Record<string, unknown>,
    public running: Contribution<NotifyApi> | undefined,
  ) {}

  static async open(notify: Record<string, unknown>, clock?: Clock): Promise<NotifyHarness> {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-notify-'));
    const bus = createEventBus();
    const log = pino({ level: process.env.GATEHOUSE_TEST_LOG ? 'info' : 'silent' });
    const scheduler = createScheduler({ log, ...(clock ? { clock } : {}) });
    const mods: readonly AnyModule<GatehouseConfig>[] = gatehouseModules();
    const migrations = mods.flatMap((m) => (m.migrations ? [m.migrations] : []));
    const store = openDecisionStore(join(dir, 'data'), { events: bus, migrations });
    return new NotifyHarness(dir, store, bus, scheduler, { data_dir: join(dir, 'data'), notify }, undefined);
  }

  async start(): Promise<Contribution<NotifyApi>> {
    const config = configFromObject(this.raw, 'test', this.dir) as unknown as NotifyView;
    const log = pino({ level: process.env.GATEHOUSE_TEST_LOG ? 'info' : 'silent' });
    const ctx: ModuleContext<NotifyView> = {
      config,
      log,
      dataDir: this.dir,
      store: this.store.db,
      decisions: this.store.service,
      bus: this.bus,
      scheduler: this.scheduler,
      network: () => ({ lan: [], own: [] }),
      listenerLimits: {},
      get: () => undefined,
      running: () => [],
    };
    this.running = await notifyModule.start(ctx);
    return this.running;
  }

  async stopModule(): Promise<void> {
    await this.running?.stop('stop');
    this.running = undefined;
  }

  async close(): Promise<void> {
    await this.stopModule().catch(() => undefined);
    await this.scheduler.stop();
    this.store.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
