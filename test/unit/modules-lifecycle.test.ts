/**
 * Issue #9: the composition root. Which modules a config turns on, the order they start in, and what a
 * start that fails part-way leaves running (nothing: what started is stopped, in reverse, as a rollback).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { configFromObject, gatehouseModules, type GatehouseConfig } from '../../src/daemon/index.js';
import { ModuleOrderError, startModules, startOrder, type AnyModule, type SharedServices } from '../../src/daemon/lifecycle.js';
import type { Module } from '../../src/modules/index.js';

function enabled(raw: Record<string, unknown>): string[] {
  const c = configFromObject(raw, 'test', '/tmp');
  const all: readonly AnyModule<GatehouseConfig>[] = gatehouseModules();
  return startOrder(
    all.filter((m) => m.enabled(c)),
    all,
  ).map((m) => m.name);
}

describe('which modules a config runs, and in what order', () => {
  it('a LAPI-only config runs no firewall and needs no interfaces', () => {
    assert.deepEqual(enabled({ lapi: { listen: '127.0.0.1:8081' } }), ['decisions', 'clients', 'crowdsec', 'api']);
  });

  it('an empty config runs only the store upkeep, the clients and the admin API', () => {
    assert.deepEqual(enabled({}), ['decisions', 'clients', 'api']);
  });

  it('interfaces turn the firewall on, with its defaults; it starts after the store and the clients', () => {
    const c = configFromObject({ interfaces: { lan: ['eth1'], wan: ['eth0'] } }, 'test');
    assert.equal(c.firewall.inbound, 'enforce');
    assert.deepEqual(enabled({ interfaces: { lan: ['eth1'], wan: ['eth0'] } }), ['decisions', 'clients', 'firewall', 'api']);
  });

  it('a firewall off in both directions is no firewall module', () => {
    assert.deepEqual(enabled({ interfaces: { lan: ['eth1'], wan: ['eth0'] }, firewall: { inbound: 'off', outbound: 'off' } }), ['decisions', 'clients', 'api']);
  });

  it('feeds start after the firewall they load into, crowdsec after both kinds of feed config, the api last', () => {
    const order = enabled({
      interfaces: { lan: ['eth1'], wan: ['eth0'] },
      feeds: [
        { name: 'a', type: 'url', url: 'https://lists.example/a.txt' },
        { name: 'cs', type: 'crowdsec', url: 'http://127.0.0.1:8080/', api_key: 'k' },
      ],
    });
    assert.deepEqual(order, ['decisions', 'clients', 'firewall', 'feeds', 'crowdsec', 'api']);
  });

  it('a firewall: section without interfaces is refused, saying how to run without', () => {
    assert.throws(() => configFromObject({ firewall: { inbound: 'monitor' } }, 'test'), /interfaces\.wan: list at least one WAN interface \(the firewall needs it.*leave out both firewall: and interfaces:/);
  });
});

type Fake = Module<unknown, undefined>;
const log = pino({ level: 'silent' });
const shared = { log } as unknown as SharedServices<unknown>;

function fake(name: string, events: string[], opts: { fail?: boolean; after?: string[]; requires?: string[] } = {}): Fake {
  return {
    name,
    sections: () => ({}),
    enabled: () => true,
    ...(opts.after ? { after: opts.after } : {}),
    ...(opts.requires ? { requires: opts.requires } : {}),
    async start() {
      if (opts.fail) throw new Error(`${name} refused to start`);
      events.push(`start ${name}`);
      return { stop: async (reason) => void events.push(`${reason} ${name}`) };
    },
  };
}

describe('starting and stopping modules', () => {
  it('orders by after/requires, keeping list order otherwise', () => {
    const ev: string[] = [];
    const mods = [fake('api', ev, { after: ['b', 'a'] }), fake('a', ev), fake('b', ev, { requires: ['a'] }), fake('c', ev)];
    assert.deepEqual(
      startOrder(mods, mods).map((m) => m.name),
      ['a', 'b', 'api', 'c'],
    );
  });

  it('refuses a module whose required module is off, and a circle', () => {
    const ev: string[] = [];
    const a = fake('a', ev, { requires: ['b'] });
    assert.throws(() => startOrder([a], [a, fake('b', ev)]), (e: Error) => e instanceof ModuleOrderError && /module a needs module b, which the config leaves off/.test(e.message));
    const x = fake('x', ev, { after: ['y'] });
    const y = fake('y', ev, { after: ['x'] });
    assert.throws(() => startOrder([x, y], [x, y]), /in a circle: x → y → x/);
  });

  it('a start that fails part-way rolls back what started, in reverse, and rethrows', async () => {
    const ev: string[] = [];
    const mods = [fake('a', ev), fake('b', ev), fake('c', ev, { fail: true }), fake('d', ev)];
    await assert.rejects(startModules(mods, shared), /c refused to start/);
    assert.deepEqual(ev, ['start a', 'start b', 'rollback b', 'rollback a']);
  });

  it('a module reads what an earlier one provides, by its ref', async () => {
    const seen: unknown[] = [];
    const provider: Module<unknown, { answer: number }> = { name: 'p', sections: () => ({}), enabled: () => true, start: async () => ({ provides: { answer: 42 }, stop: async () => {} }) };
    const user: Fake = {
      name: 'u',
      sections: () => ({}),
      enabled: () => true,
      async start(ctx) {
        seen.push(ctx.get(provider)?.answer, ctx.get({ name: 'missing' }), ctx.running().map((m) => m.name));
        return { stop: async () => {} };
      },
    };
    await startModules([provider as AnyModule<unknown>, user], shared);
    assert.deepEqual(seen, [42, undefined, ['p']]);
  });
});
