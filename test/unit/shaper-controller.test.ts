/**
 * The shaper's control loop against a kernel that a previous run left shaped: the restart must keep every class
 * and map element, even when the portal hands over its live sessions' owners before the first tick.
 * The kernel side is an in-memory stand-in of the runtime (sets and maps by name) and of tc (the lines run).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { KernelRuntime, ListedElement, RuntimeOp } from '../../src/firewall/index.js';
import type { ModuleLog } from '../../src/modules/index.js';
import { ShaperController } from '../../src/shaper/controller.js';
import { counterSet, mapName } from '../../src/shaper/fragment.js';
import { shaperMigrations, UsageRepo } from '../../src/shaper/usage.js';
import { openDb } from '../../src/store/db.js';

const log: ModuleLog = { debug() {}, info() {}, warn() {}, error() {}, child: () => log };
const ADDR = '10.77.0.10';

function kernelLeftShaped(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-shaper-ctl-'));
  const db = openDb(dir, 'gatehouse.db', [shaperMigrations]);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const elements = new Map<string, ListedElement[]>([
    // The run before put the resident's flows (every mark) into its class 1:10 and counted its bytes.
    [mapName('down', 4), Array.from({ length: 8 }, (_, m) => ({ key: [ADDR, String(m)], value: '1:10' }))],
    [counterSet('down', 4), [{ key: [ADDR], counter: { packets: 10, bytes: 10_000 } }]],
  ]);
  const ops: RuntimeOp[] = [];
  const tc: string[] = [];
  const runtime: KernelRuntime = {
    ready: async () => undefined,
    list: async (name) => elements.get(name) ?? [],
    apply: async (o) => void ops.push(...o),
  };
  const controller = new ShaperController({
    runtime,
    devices: [{ dev: 'lan0', dir: 'down', linkBps: 50e6, leaf: 'pfifo' }],
    p2pBps: 256e3,
    fairUseBps: 1e6,
    usage: new UsageRepo(db),
    log,
    run: async (_cmd, _args, input) => {
      if (input) tc.push(input);
      return { code: 0, stdout: '', stderr: '' };
    },
  });
  return { controller, ops, tc };
}

const removals = (ops: readonly RuntimeOp[]) => ops.filter((o) => o.op === 'delete' || o.op === 'flush');

describe('shaper restart: what the run before left in the kernel is kept', () => {
  it('a portal owner handed over before the first tick takes away no class and no map element', async (t) => {
    const k = kernelLeftShaped(t);
    await k.controller.adoptKernel();
    await k.controller.setOwner([ADDR], 'alice');
    await k.controller.setFairUse(['10.77.0.99'], true, 'admin');
    assert.deepEqual(removals(k.ops), [], 'no map element removed');
    assert.ok(!k.tc.join('\n').includes('class del'), `no class removed: ${k.tc.join(' | ')}`);
  });

  it('the first tick then keeps the resident in the class it had', async (t) => {
    const k = kernelLeftShaped(t);
    await k.controller.adoptKernel();
    await k.controller.setOwner([ADDR], 'alice');
    await k.controller.tick();
    const moved = k.ops.flatMap((o) => ('elements' in o ? o.elements.filter((e) => e.key[0] === ADDR && e.value !== undefined && e.value !== '1:10') : []));
    assert.deepEqual(moved, [], 'no element of the resident points elsewhere');
    assert.deepEqual(removals(k.ops).flatMap((o) => ('elements' in o ? o.elements : [])).filter((e) => e.key[0] === ADDR), []);
    assert.equal(k.controller.clients().length, 1);
  });
});
