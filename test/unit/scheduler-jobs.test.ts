import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { createScheduler, ManualClock, type Scheduler } from '../../src/scheduler/index.js';

function setup(): { clock: ManualClock; scheduler: Scheduler; errors: string[] } {
  const clock = new ManualClock(0);
  const errors: string[] = [];
  const scheduler = createScheduler({ clock, log: { error: (o, msg) => errors.push(`${msg}: ${(o as { err: string }).err}`) } });
  return { clock, scheduler, errors };
}

function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('scheduler', () => {
  it('runs a job every interval, measured from the end of the previous run', async () => {
    const { clock, scheduler } = setup();
    const runs: number[] = [];
    const job = scheduler.every('tick', 1000, () => void runs.push(clock.now()));
    assert.equal(job.nextRunAt, 1000);
    await clock.advance(999);
    assert.deepEqual(runs, []);
    await clock.advance(1);
    assert.deepEqual(runs, [1000]);
    await clock.advance(3000);
    assert.deepEqual(runs, [1000, 2000, 3000, 4000]);
    await scheduler.stop();
  });

  it('never overlaps a run with itself, however long it takes', async () => {
    const { clock, scheduler } = setup();
    let running = 0;
    let most = 0;
    let started = 0;
    const g = gate();
    scheduler.every('slow', 100, async () => {
      started++;
      running++;
      most = Math.max(most, running);
      await g.promise;
      running--;
    });
    await clock.advance(10_000);
    assert.equal(started, 1, 'one run, still going after a hundred intervals');
    g.open();
    await clock.advance(0);
    await clock.advance(100);
    assert.equal(started, 2, 'the next run one interval after the first ended');
    assert.equal(most, 1);
    await scheduler.stop();
  });

  it('logs a failed run and keeps the schedule', async () => {
    const { clock, scheduler, errors } = setup();
    let n = 0;
    scheduler.every('flaky', 10, () => {
      if (++n === 1) throw new Error('first run broke');
    });
    await clock.advance(30);
    assert.equal(n, 3);
    assert.deepEqual(errors, ['flaky failed: first run broke']);
    await scheduler.stop();
  });

  it('runNow runs at once when idle and the next scheduled run follows one interval later', async () => {
    const { clock, scheduler } = setup();
    const runs: number[] = [];
    const job = scheduler.every('feed', 1000, () => void runs.push(clock.now()));
    await clock.advance(400);
    await job.runNow();
    assert.deepEqual(runs, [400]);
    assert.equal(job.nextRunAt, 1400);
    await clock.advance(1000);
    assert.deepEqual(runs, [400, 1400]);
    await scheduler.stop();
  });

  it('runNow during a run waits for it, then runs once more for every caller that asked meanwhile', async () => {
    const { clock, scheduler } = setup();
    const g = gate();
    let runs = 0;
    const job = scheduler.every('collect', 1000, async () => {
      runs++;
      if (runs === 1) await g.promise;
    });
    await clock.advance(1000);
    assert.equal(job.running, true);
    const a = job.runNow();
    const b = job.runNow();
    assert.equal(runs, 1, 'no overlap: the asked-for run waits');
    g.open();
    await Promise.all([a, b]);
    assert.equal(runs, 2, 'one follow-up run shared by both callers');
    await scheduler.stop();
  });

  it('runNow rejects with the run error (and the schedule goes on)', async () => {
    const { clock, scheduler, errors } = setup();
    let fail = true;
    const job = scheduler.every('refresh', 100, () => {
      if (fail) throw new Error('unreachable');
    });
    await assert.rejects(job.runNow(), /unreachable/);
    fail = false;
    assert.equal(job.nextRunAt, 100);
    await clock.advance(100);
    assert.equal(errors.length, 1);
    await scheduler.stop();
  });

  it('a changed interval reschedules the waiting job from when its wait began', async () => {
    const { clock, scheduler } = setup();
    const runs: number[] = [];
    const job = scheduler.every('feed', 10_000, () => void runs.push(clock.now()));
    await clock.advance(3000);
    job.setInterval(5000);
    assert.equal(job.nextRunAt, 5000);
    await clock.advance(7000);
    assert.deepEqual(runs, [5000, 10_000]);
    job.setInterval(1000);
    assert.equal(job.nextRunAt, 11_000);
    assert.throws(() => job.setInterval(0), /interval must be a positive number/);
    await scheduler.stop();
  });

  it('a run can set the delay before the next one (a poller backing off)', async () => {
    const { clock, scheduler } = setup();
    const runs: number[] = [];
    const delays = [5000, 10_000];
    scheduler.every('poll', 1000, () => {
      runs.push(clock.now());
      const d = delays.shift();
      return d === undefined ? undefined : { nextRunInMs: d };
    }, { firstRunInMs: 0 });
    await clock.advance(20_000);
    assert.deepEqual(runs, [0, 5000, 15_000, 16_000, 17_000, 18_000, 19_000, 20_000]);
    await scheduler.stop();
  });

  it('stop waits for the run in progress and nothing runs after it', async () => {
    const { clock, scheduler } = setup();
    const g = gate();
    let runs = 0;
    let finished = false;
    const job = scheduler.every('checkpoint', 10, async () => {
      runs++;
      await g.promise;
      finished = true;
    });
    await clock.advance(10);
    const stopped = scheduler.stop();
    let done = false;
    void stopped.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'stop waits for the running one');
    g.open();
    await stopped;
    assert.equal(finished, true);
    await clock.advance(1000);
    assert.equal(runs, 1);
    assert.equal(clock.pending, 0, 'no timer left behind');
    assert.deepEqual(scheduler.jobs(), []);
    await assert.rejects(job.runNow(), /checkpoint: stopped/);
  });

  it('a pending job on the system clock does not keep the process alive (the servers decide that)', () => {
    const src = new URL('../../src/scheduler/index.ts', import.meta.url).href;
    const code = `const { createScheduler } = await import(${JSON.stringify(src)});
      createScheduler({ log: console }).every('idle', 60_000, () => {});`;
    const t0 = Date.now();
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 30_000 });
    assert.ok(Date.now() - t0 < 30_000);
  });
});
