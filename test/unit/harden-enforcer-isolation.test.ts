import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { configFromObject, startDaemon, type GatehouseConfig } from '../../src/daemon/index.js';
import { EnforcementView } from '../../src/decisions/enforcement-view.js';
import { openDecisionStore, type DecisionStore } from '../../src/decisions/store-service.js';
import { Enforcer } from '../../src/firewall/enforcer.js';
import { NftError, type NftRunner } from '../../src/firewall/nft.js';
import { KERNEL_TIMEOUT_CAP_SEC } from '../../src/firewall/timeout.js';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;
const OPTS = { table: 'gatehouse', lan: ['lan0'], wan: ['wan0'], inbound: 'enforce', outbound: 'enforce', hitTimeoutSec: 3600, hitSetSize: 65536 } as const;
const quiet = { info: () => undefined, error: () => undefined };

/**
 * A stand-in for nft 1.0.6 on what these tests need: a script is one transaction, `flush set` empties a
 * set, `add element` of a present element keeps its old timeout, `delete element` of a missing one aborts
 * the transaction, elements with a timeout vanish by themselves. `refuse` makes it reject any script that
 * adds an element whose text contains one of these strings, the way nft rejects a value it cannot hold;
 * `broken` makes it reject everything. `check` is the same without applying (`nft -c`).
 */
class FakeNft implements NftRunner {
  sets = new Map<string, Map<string, number | null>>();
  refuse = new Set<string>();
  broken = false;
  applied = 0;
  failed = 0;
  constructor(private readonly clock: () => number) {}

  private run(script: string, commit: boolean): void {
    if (this.broken) throw new NftError('nft rejected the update: Error: broken on purpose');
    const now = this.clock();
    const next = new Map([...this.sets].map(([k, v]) => [k, new Map(v)]));
    for (const line of script.split('\n')) {
      let m = /^add set inet gatehouse (\S+) /.exec(line);
      if (m) {
        if (!next.has(m[1]!)) next.set(m[1]!, new Map());
        continue;
      }
      m = /^flush set inet gatehouse (\S+)$/.exec(line);
      if (m) {
        next.get(m[1]!)!.clear();
        continue;
      }
      m = /^(add|delete) element inet gatehouse (\S+) \{ (.*) \}$/.exec(line);
      if (!m) continue;
      const set = next.get(m[2]!)!;
      for (const el of m[3]!.split(', ')) {
        const [value, kw, t] = el.split(' ') as [string, string?, string?];
        if ([...this.refuse].some((r) => el.includes(r))) throw new NftError(`nft rejected the update: Error: value too large: ${el}`);
        const exp = set.get(value);
        const alive = set.has(value) && (exp === null || exp! > now);
        if (m[1] === 'delete') {
          if (!alive) throw new NftError(`nft rejected the update: delete of missing ${value}`);
          set.delete(value);
        } else if (!alive) {
          set.set(value, kw === 'timeout' ? now + Number(t!.replace(/s$/, '')) * 1000 : null);
        }
      }
    }
    if (commit) this.sets = next;
  }

  async apply(script: string): Promise<void> {
    try {
      this.run(script, true);
      this.applied++;
    } catch (e) {
      this.failed++;
      throw e;
    }
  }
  async check(script: string): Promise<void> {
    this.run(script, false);
  }
  async listSet(): Promise<undefined> {
    return undefined;
  }
  async hasTable(): Promise<boolean> {
    return this.sets.size > 0;
  }

  holds(value: string): boolean {
    const now = this.clock();
    for (const s of this.sets.values()) {
      const exp = s.get(value);
      if (s.has(value) && (exp === null || exp! > now)) return true;
    }
    return false;
  }
}

function rig(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-h1-iso-'));
  let now = T0;
  const clock = (): number => now;
  const store: DecisionStore = openDecisionStore(dir, { clock });
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const nft = new FakeNft(clock);
  const enforcer = new Enforcer(new EnforcementView(store.db, clock), nft, OPTS, quiet, clock);
  /** The first reconcile, then changes flow to the enforcer: the daemon's order at start. */
  const start = async (): Promise<void> => {
    await enforcer.reconcile();
    store.events.subscribe('decisions.changed', (c) => enforcer.handle(c));
  };
  return { store, s: store.service, nft, enforcer, start, advance: (ms: number) => void (now += ms), now: () => now };
}

/** Fails the test instead of hanging when `p` does not settle in time. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Enforcer: one element nft refuses never blocks the rest', () => {
  it('a full reconcile enforces everything else and reports the refused element', async (t) => {
    const r = rig(t);
    r.nft.refuse.add('192.0.2.66');
    // Straight into the store, as a restart finds it: the reconcile is the first to see them.
    r.s.addMany([
      { value: '192.0.2.1', origin: 'manual' },
      { value: '192.0.2.66', origin: 'crowdsec', durationSec: 3600 },
      { value: '192.0.2.3', origin: 'manual', durationSec: 60 },
      { value: '10.0.0.0/8', origin: 'feed:x' },
    ]);
    await within(5000, 'reconcile', r.enforcer.reconcile());
    assert.ok(r.nft.holds('192.0.2.1'));
    assert.ok(r.nft.holds('192.0.2.3'));
    assert.ok(r.nft.holds('10.0.0.0-10.255.255.255'));
    assert.ok(!r.nft.holds('192.0.2.66'));
    assert.equal(r.enforcer.status.refused, 1);
    assert.deepEqual(r.enforcer.status.refusedSamples, ['192.0.2.66']);
  });

  it('after a refused element, ordinary new decisions still reach the kernel, and the queue does not retry forever', async (t) => {
    const r = rig(t);
    await r.start();
    r.nft.refuse.add('192.0.2.66');
    r.s.add({ value: '192.0.2.66', origin: 'lapi:w1', durationSec: 3600 });
    await within(5000, 'settled after the refused element', r.enforcer.settled());
    r.s.add({ value: '192.0.2.7', origin: 'manual' });
    await within(5000, 'settled after an ordinary decision', r.enforcer.settled());
    assert.ok(r.nft.holds('192.0.2.7'), 'the ordinary decision is enforced');
    assert.ok(!r.nft.holds('192.0.2.66'));
    assert.equal(r.enforcer.status.refused, 1);
    const failedSoFar = r.nft.failed;
    // More decisions: no new failing transactions, so no retry loop behind them.
    r.s.add({ value: '192.0.2.8', origin: 'manual' });
    await within(5000, 'settled', r.enforcer.settled());
    assert.ok(r.nft.holds('192.0.2.8'));
    assert.equal(r.nft.failed, failedSoFar);
  });

  it('stop() finishes while nft rejects everything, and settled() does not hang either', async (t) => {
    const r = rig(t);
    await r.start();
    r.nft.broken = true;
    r.s.add({ value: '192.0.2.9', origin: 'manual' });
    await within(5000, 'settled() while nft fails', r.enforcer.settled());
    assert.match(r.enforcer.status.lastError ?? '', /broken on purpose/);
    await within(5000, 'stop() while nft fails', r.enforcer.stop());
  });
});

describe('Enforcer: decisions longer than the kernel timeout cap stay enforced', () => {
  it('re-asserts them before the kernel drops them, until their own expiry (injected clock)', async (t) => {
    const r = rig(t);
    const capMs = KERNEL_TIMEOUT_CAP_SEC * 1000;
    await r.start();
    r.s.add({ value: '192.0.2.10', origin: 'crowdsec', durationSec: 30000 * 3600 }); // 1250 days
    r.s.add({ value: '192.0.2.11', origin: 'crowdsec', durationSec: 9_223_372_036 }); // Go's maximum
    r.s.add({ value: '192.0.2.12', origin: 'manual', durationSec: 10 * 86400 });
    await r.enforcer.settled();
    const end10 = T0 + 30000 * 3_600_000;
    // Day by day over more than three caps, as the daemon's expire job would run it.
    for (let day = 1; day <= 3 * KERNEL_TIMEOUT_CAP_SEC / 86400 + 20; day++) {
      r.advance(DAY);
      r.s.expire();
      r.enforcer.reassertDue();
      await r.enforcer.settled();
      assert.equal(r.nft.holds('192.0.2.10'), r.now() < end10, `192.0.2.10 on day ${day}`);
      assert.ok(r.nft.holds('192.0.2.11'), `192.0.2.11 on day ${day}`);
      assert.equal(r.nft.holds('192.0.2.12'), day < 10, `192.0.2.12 on day ${day}`);
    }
    assert.ok(r.now() > T0 + 3 * capMs);
    assert.equal(r.nft.failed, 0);
  });

  it('reassertDue is cheap when nothing is due: no transaction', async (t) => {
    const r = rig(t);
    await r.start();
    r.s.add({ value: '192.0.2.10', origin: 'crowdsec', durationSec: 30000 * 3600 });
    await r.enforcer.settled();
    const before = r.nft.applied;
    r.advance(DAY);
    r.enforcer.reassertDue();
    await r.enforcer.settled();
    assert.equal(r.nft.applied, before);
  });
});

describe('daemon: stop and restart while nft refuses an element', () => {
  function settings(dir: string): GatehouseConfig {
    const c = configFromObject(
      {
        data_dir: dir,
        api: { socket: join(dir, 'api.sock') },
        interfaces: { lan: ['lo'], wan: ['lo2'] },
        firewall: { table: 'gatehouse', inbound: 'enforce', outbound: 'enforce', hit_poll_interval: '60s', block_event_retention: '1d', expire_interval: '60s' },
      },
      'test',
    );
    // One real interface on both sides: the config refuses that, the fake nft does not care.
    return { ...c, interfaces: { lan: ['lo'], wan: ['lo'] } };
  }

  it('stop() finishes within seconds while nft keeps failing, and a restart from that store starts and enforces the rest', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-h1-daemon-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const nft = new FakeNft(Date.now);
    const log = pino({ level: 'silent' });
    const d = await startDaemon(settings(dir), { nft, log });
    d.store.service.add({ value: '192.0.2.1', origin: 'manual' });
    await d.enforcer!.settled();
    nft.refuse.add('192.0.2.66');
    d.store.service.add({ value: '192.0.2.66', origin: 'crowdsec', durationSec: 3600 });
    nft.broken = true;
    d.store.service.add({ value: '192.0.2.2', origin: 'manual' });
    await within(10_000, 'daemon stop', d.stop());
    nft.broken = false;

    const fresh = new FakeNft(Date.now);
    fresh.refuse.add('192.0.2.66');
    const d2 = await within(10_000, 'daemon restart', startDaemon(settings(dir), { nft: fresh, log }));
    try {
      assert.ok(fresh.holds('192.0.2.1'));
      assert.ok(fresh.holds('192.0.2.2'));
      assert.ok(!fresh.holds('192.0.2.66'));
      d2.store.service.add({ value: '192.0.2.3', origin: 'manual' });
      await within(5000, 'settled', d2.enforcer!.settled());
      assert.ok(fresh.holds('192.0.2.3'));
    } finally {
      await within(10_000, 'second stop', d2.stop());
    }
  });

  it('stop() finishes even when an nft run never ends', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-h1-daemon-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const nft = new FakeNft(Date.now);
    const d = await startDaemon(settings(dir), { nft, log: pino({ level: 'silent' }), enforcerStopMs: 500 });
    nft.apply = () => new Promise<void>(() => undefined);
    d.store.service.add({ value: '192.0.2.1', origin: 'manual' });
    await within(5000, 'daemon stop with a hung nft', d.stop());
  });
});
