/**
 * Issue #9, "No stalls": the daemon reports its own event-loop delay (GET /v1/status → eventLoop), the
 * LAPI's startup stream works in small synchronous steps, and nft is started by a helper process rather
 * than forked from the daemon (a fork copies the daemon's page tables, a stall that grows with its memory).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request as httpRequest } from 'node:http';
import { startAdminServers, type AdminServers } from '../../src/api/server.js';
import { startLoopDelayMonitor, type LoopDelayMonitor } from '../../src/api/loop-delay.js';
import type { EventLoopStatus } from '../../src/api/contract.js';
import { NO_STATUS } from './helpers/status.js';
import { adminRoutes } from '../../src/api/admin-routes.js';
import { openDecisionStore, type DecisionStore } from '../../src/decisions/store-service.js';
import { BlockEventRepo } from '../../src/store/block-events.js';
import { activeDecisionsJson } from '../../src/crowdsec/lapi/stream.js';
import type { ActivePageQuery, ActiveRow } from '../../src/crowdsec/lapi/index.js';
import { launch } from '../../src/firewall/launcher.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Blocks this thread for `ms`, as a synchronous SQLite scan or a big fork would. */
function stall(ms: number): void {
  const t = performance.now();
  while (performance.now() - t < ms);
}

/** Waits (on the loop, so samples are taken) until the monitor holds more than `n` samples. */
async function samplesAbove(m: LoopDelayMonitor, n: number): Promise<void> {
  while (m.read().samples <= n) await new Promise((r) => setTimeout(r, 5));
}

describe('event-loop delay', () => {
  it('records a stall in max, and a reset starts a window without it', async () => {
    const m = startLoopDelayMonitor(10);
    try {
      await samplesAbove(m, 2);
      stall(150);
      const before = m.read().samples;
      await samplesAbove(m, before);
      const withStall = m.read(true);
      assert.ok(withStall.maxMs >= 120 && withStall.maxMs < 1000, `max ${withStall.maxMs} ms after a 150 ms stall`);
      assert.ok(withStall.p99Ms >= 120, `p99 ${withStall.p99Ms} ms: the stall is one of few samples`);
      await samplesAbove(m, 3);
      const clean = m.read();
      assert.ok(clean.maxMs < 120, `the new window still holds the stall: max ${clean.maxMs} ms`);
      assert.ok(clean.since >= withStall.since);
    } finally {
      m.stop();
    }
  });

  describe('GET /v1/status', () => {
    let dir: string;
    let store: DecisionStore;
    let admin: AdminServers;
    let monitor: LoopDelayMonitor;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gh-n8-loop-'));
      store = openDecisionStore(dir);
      monitor = startLoopDelayMonitor(10);
      const routes = adminRoutes({
        decisions: store.service,
        blocks: new BlockEventRepo(store.db),
        enforced: async () => undefined,
        collect: async () => undefined,
        status: (o) => ({ ...NO_STATUS, eventLoop: monitor.read(o.resetEventLoop) }),
      });
      admin = await startAdminServers(routes, { socket: join(dir, 'api.sock') });
    });
    after(async () => {
      await admin.close();
      monitor.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const get = (path: string): Promise<{ status: number; body: string }> =>
      new Promise((done, fail) => {
        const req = httpRequest({ socketPath: join(dir, 'api.sock'), method: 'GET', path }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => done({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', fail);
        req.end();
      });
    const status = async (query = ''): Promise<EventLoopStatus> => {
      const r = await get(`/v1/status${query}`);
      assert.equal(r.status, 200, r.body);
      return (JSON.parse(r.body) as { eventLoop: EventLoopStatus }).eventLoop;
    };

    it('reports the delay, and reset_event_loop=true answers the window so far and starts a new one', async () => {
      await samplesAbove(monitor, 2);
      stall(150);
      await samplesAbove(monitor, monitor.read().samples);
      const seen = await status();
      assert.ok(seen.maxMs >= 120, `status shows max ${seen.maxMs} ms after a 150 ms stall`);
      const last = await status('?reset_event_loop=true');
      assert.ok(last.maxMs >= 120, 'the reset answers the window that ends');
      await samplesAbove(monitor, 3);
      const next = await status();
      assert.ok(next.maxMs < 120, `the window after the reset holds the stall: max ${next.maxMs} ms`);
      assert.ok(next.since >= last.since);
    });

    it('refuses a malformed reset flag with a clear error', async () => {
      const r = await get('/v1/status?reset_event_loop=maybe');
      assert.equal(r.status, 400);
      assert.match(r.body, /reset_event_loop/);
    });
  });
});

describe('LAPI startup stream', () => {
  it('reads and renders at most 2,000 decisions per synchronous step, handing the loop back in between', async () => {
    const total = 25_000;
    const limits: number[] = [];
    let calls = 0;
    let handedBack = 0;
    let pendingCheck = false;
    const pages = (q: ActivePageQuery): ActiveRow[] => {
      // What another request queued during the previous page ran before this one: the loop was free.
      if (pendingCheck) throw new Error(`page ${calls} followed page ${calls - 1} without the event loop running in between`);
      calls++;
      pendingCheck = true;
      setImmediate(() => {
        pendingCheck = false;
        handedBack++;
      });
      limits.push(q.limit);
      const rows: ActiveRow[] = [];
      for (let id = q.afterId + 1; id <= Math.min(total, q.afterId + q.limit); id++) {
        rows.push([id, `198.51.${(id >> 8) & 255}.${id & 255}`, 0, 'cscli', 'manual', Date.now() + 3_600_000]);
      }
      return rows;
    };
    let text = '';
    for await (const chunk of activeDecisionsJson(pages, { selector: {}, dedup: false, now: Date.now() })) text += chunk;
    assert.equal((JSON.parse(text) as unknown[]).length, total);
    assert.ok(Math.max(...limits) <= 2_000, `pages of up to ${Math.max(...limits)} rows in one synchronous step`);
    assert.ok(handedBack >= calls - 1);
  });
});

describe('command launcher', () => {
  it('starts commands from a helper process, not from this one', async () => {
    const r = await launch('sh', ['-c', 'echo $PPID']);
    assert.equal(r.code, 0);
    const ppid = Number(r.stdout.trim());
    assert.ok(ppid > 1 && ppid !== process.pid, `the command's parent is ${ppid}, this process is ${process.pid}`);
  });

  it('reports exit code, output and input like a direct spawn, and a missing command as ENOENT', async () => {
    assert.deepEqual(await launch('sh', ['-c', 'cat; echo err >&2; exit 3'], 'in'), { code: 3, stdout: 'in', stderr: 'err\n' });
    await assert.rejects(launch('gatehouse-n8-no-such-command', []), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  });

  it('an idle helper does not keep a process alive, and goes when its process is killed', async () => {
    const script = `
      import { launch } from '${ROOT}/src/firewall/launcher.ts';
      const r = await launch('sh', ['-c', 'echo $PPID']);
      process.stdout.write(r.stdout);
      if (process.argv[1] === 'hang') setInterval(() => {}, 1000);
    `;
    // Ends by itself once the command ran (nothing but the idle helper is left).
    const ended = await new Promise<{ code: number | null; stdout: string }>((done) =>
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, timeout: 20_000 }, (err, stdout) => done({ code: err ? 1 : 0, stdout })),
    );
    assert.equal(ended.code, 0, 'the process did not end by itself');
    // kill -9 of the parent: the helper notices the closed channel and ends.
    const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, 'hang'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const helper = await new Promise<number>((done) => p.stdout.once('data', (b: Buffer) => done(Number(String(b).trim()))));
    assert.ok(helper > 1);
    p.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (alive(helper) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alive(helper), false, `helper ${helper} outlived its killed parent`);
  });
});

/** Running, i.e. neither gone nor a zombie waiting for a reaper (PID 1 here may not reap). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
