import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEventBus, type BusEvent } from '../../src/events/index.js';

interface TestEvents {
  'a.one': number;
  'a.two': { readonly text: string };
  'b.other': string;
}

function collectingBus() {
  const errors: string[] = [];
  const bus = createEventBus<TestEvents>({ onError: (err, where) => errors.push(`${where.event}/${where.subscriber}: ${err.message}`) });
  return { bus, errors };
}

/** Waits for a condition the bus's queued delivery makes true on a later turn of the event loop. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('event bus: must-see subscribers', () => {
  it('get every event of their type, synchronously and in publish order', () => {
    const { bus } = collectingBus();
    const seen: number[] = [];
    bus.subscribe('a.one', (n) => seen.push(n));
    for (let i = 0; i < 100; i++) bus.publish('a.one', i);
    bus.publish('b.other', 'not for it');
    assert.deepEqual(seen, [...Array(100).keys()]);
  });

  it('see events published from inside a handler after the one being delivered, all in one order', () => {
    const { bus } = collectingBus();
    const first: string[] = [];
    const second: string[] = [];
    bus.subscribe('a.one', (n) => {
      first.push(`one:${n}`);
      if (n === 1) bus.publish('a.two', { text: 'nested' });
    });
    bus.subscribe('a.two', (p) => first.push(`two:${p.text}`));
    bus.subscribe('a.one', (n) => second.push(`one:${n}`));
    bus.subscribe('a.two', (p) => second.push(`two:${p.text}`));
    bus.publish('a.one', 1);
    bus.publish('a.one', 2);
    // The nested event reaches every subscriber after event 1 has reached all of them, before publish returns.
    assert.deepEqual(first, ['one:1', 'two:nested', 'one:2']);
    assert.deepEqual(second, ['one:1', 'two:nested', 'one:2']);
  });

  it('a throwing subscriber is reported and neither the publisher nor the others notice', async () => {
    const { bus, errors } = collectingBus();
    const after: number[] = [];
    bus.subscribe('a.one', () => {
      throw new Error('boom');
    }, 'thrower');
    bus.subscribe('a.one', (async () => {
      throw new Error('async boom');
    }) as (n: number) => void, 'async thrower');
    bus.subscribe('a.one', (n) => after.push(n));
    assert.doesNotThrow(() => bus.publish('a.one', 1));
    bus.publish('a.one', 2);
    assert.deepEqual(after, [1, 2]);
    await until(() => errors.length === 4, 'the async rejections');
    assert.deepEqual(errors.sort(), ['a.one/async thrower: async boom', 'a.one/async thrower: async boom', 'a.one/thrower: boom', 'a.one/thrower: boom']);
  });

  it('unsubscribe stops delivery, also when done inside a handler during a publish', () => {
    const { bus } = collectingBus();
    const a: number[] = [];
    const b: number[] = [];
    const offA = bus.subscribe('a.one', (n) => {
      a.push(n);
      offB();
    });
    const offB = bus.subscribe('a.one', (n) => b.push(n));
    bus.publish('a.one', 1);
    assert.deepEqual(b, [], 'unsubscribed by an earlier handler of the same event: not called');
    offA();
    offA();
    bus.publish('a.one', 2);
    assert.deepEqual(a, [1]);
  });
});

describe('event bus: best-effort (queued) subscribers', () => {
  it('get events of several types later, in order, each with a bus-wide sequence number', async () => {
    const { bus } = collectingBus();
    const got: string[] = [];
    const sub = bus.subscribeQueued(['a.one', 'b.other'], (e) => {
      got.push(e.type === 'a.one' ? `one:${e.payload}` : `other:${e.payload}`);
    });
    bus.publish('a.one', 1);
    bus.publish('a.two', { text: 'skipped' });
    bus.publish('b.other', 'x');
    assert.deepEqual(got, [], 'handed over on a later turn, not inside publish');
    await until(() => got.length === 2, 'delivery');
    assert.deepEqual(got, ['one:1', 'other:x']);
    assert.equal(sub.dropped, 0);
  });

  it('a stuck subscriber does not stall the publisher or others; overflow drops the oldest and says how many were missed', async () => {
    const { bus } = collectingBus();
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    const slow: [BusEvent<TestEvents, 'a.one'>, number][] = [];
    const sub = bus.subscribeQueued(['a.one'], async (e, missed) => {
      slow.push([e, missed]);
      if (e.payload === 0) await stuck;
    }, { capacity: 3, name: 'slow' });
    const fast: number[] = [];
    bus.subscribe('a.one', (n) => fast.push(n));

    bus.publish('a.one', 0);
    await until(() => slow.length === 1, 'the first event to reach the slow subscriber');
    // It is now stuck on event 0: ten more must not wait for it.
    const t0 = performance.now();
    for (let i = 1; i <= 10; i++) bus.publish('a.one', i);
    assert.ok(performance.now() - t0 < 50, 'publishing does not wait for the stuck subscriber');
    assert.deepEqual(fast, [...Array(11).keys()], 'the must-see subscriber got all of them at once');
    assert.equal(sub.pending, 3, 'the queue holds at most its capacity');
    assert.equal(sub.dropped, 7);

    release();
    await until(() => slow.length === 4, 'the queue to drain');
    assert.deepEqual(
      slow.map(([e, missed]) => [e.payload, missed]),
      [
        [0, 0],
        [8, 7],
        [9, 0],
        [10, 0],
      ],
      'the oldest were dropped; the first event after the gap says 7 were missed',
    );
    assert.deepEqual(slow.map(([e]) => e.seq), [1, 9, 10, 11]);
  });

  it('a throwing queued subscriber is reported and keeps receiving', async () => {
    const { bus, errors } = collectingBus();
    const got: number[] = [];
    bus.subscribeQueued(['a.one'], (e) => {
      got.push(e.payload);
      if (e.payload === 1) throw new Error('bad one');
    }, { name: 'picky' });
    bus.publish('a.one', 1);
    bus.publish('a.one', 2);
    await until(() => got.length === 2, 'both events');
    assert.deepEqual(errors, ['a.one/picky: bad one']);
  });

  it('close discards what is queued and ends delivery', async () => {
    const { bus } = collectingBus();
    const got: number[] = [];
    const sub = bus.subscribeQueued(['a.one'], (e) => void got.push(e.payload));
    bus.publish('a.one', 1);
    sub.close();
    bus.publish('a.one', 2);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, []);
    assert.equal(sub.pending, 0);
  });

  it('refuses a queue without room', () => {
    const { bus } = collectingBus();
    assert.throws(() => bus.subscribeQueued(['a.one'], () => {}, { capacity: 0 }), /capacity must be a positive integer/);
  });
});

describe('event bus: types', () => {
  it('checks event names and payloads at compile time', () => {
    const { bus } = collectingBus();
    // @ts-expect-error not an event of this map
    bus.publish('a.three', 1);
    // @ts-expect-error wrong payload for a.two
    bus.publish('a.two', 'text');
    bus.subscribe('a.two', (p) => void p.text.length);
    bus.subscribeQueued(['a.one', 'a.two'], (e) => {
      if (e.type === 'a.two') void e.payload.text;
      // @ts-expect-error narrowed by type: a.one carries a number
      else void e.payload.text;
    });
  });
});
