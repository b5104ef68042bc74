import { fork, spawn, type ChildProcess } from 'node:child_process';
import type { LaunchReply, LaunchRequest } from './launcher-child.js';

/**
 * Starts commands (nft) through a small helper process instead of forking the daemon itself.
 *
 * Node forks a child synchronously, and the fork copies the forking process's page tables: ~20 ms per
 * `nft` at the daemon's ~200 MB with 100k decisions, 50–130 ms on a busy 2-core router, more at 1M — a
 * stall of every API, LAPI poll and (next) DNS answer sharing the event loop, once per add and per hit
 * poll. The helper is forked once, at the first command while the daemon is still small, and forks the
 * commands from its own small memory. When it cannot be started (e.g. EMFILE) the command is spawned
 * directly, as before; when it dies, commands in flight fail (the enforcer retries) and the next one
 * starts a new helper.
 */

export interface Launched {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface Pending {
  readonly req: LaunchRequest;
  resolve(r: Launched): void;
  reject(e: Error): void;
}

function errnoError(message: string, errno?: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(message);
  if (errno !== undefined) e.code = errno;
  return e;
}

/** Spawns in this process: the fallback, and the reference behaviour the helper reproduces. */
export function spawnDirect(cmd: string, args: readonly string[], input = ''): Promise<Launched> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    // First, before anything that can throw: a failed spawn (EMFILE, ENOENT) is an 'error' event, and one
    // with no listener ends the process.
    p.on('error', reject);
    // On EMFILE Node gives up before making the pipes; the 'error' event above follows.
    if (!p.stdout || !p.stderr || !p.stdin) return;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    p.stdin.on('error', () => undefined);
    p.stdin.end(input);
  });
}

const MAX_FAILED_STARTS = 3;

class Launcher {
  private child: ChildProcess | undefined;
  /** The helper said it is ready: from then on a failure is the helper's death, not a failed start. */
  private started = false;
  /** Helpers that ended before they were ready; after a few, commands are spawned directly for good. */
  private failedStarts = 0;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  run(cmd: string, args: readonly string[], input: string): Promise<Launched> {
    const c = this.ensure();
    if (!c) return spawnDirect(cmd, args, input);
    return new Promise<Launched>((resolve, reject) => {
      const req: LaunchRequest = { id: this.nextId++, cmd, args, input };
      this.pending.set(req.id, { req, resolve, reject });
      this.hold(c, true);
      c.send(req, (e) => {
        if (e) this.fail(c, e);
      });
    });
  }

  private ensure(): ChildProcess | undefined {
    if (this.child) return this.child;
    if (this.failedStarts >= MAX_FAILED_STARTS) return undefined;
    let c: ChildProcess;
    try {
      c = fork(helperFile(), [], { execArgv: helperExecArgv(), stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' });
    } catch {
      this.failedStarts++;
      return undefined;
    }
    // With every descriptor in use Node returns a child without its IPC channel instead of throwing, and
    // reports the failure as an 'error' event later: count it as a failed start and run commands directly
    // (which then fail with EMFILE themselves, a failed nft call the enforcer retries).
    if (typeof c.send !== 'function' || c.channel === undefined || c.channel === null) {
      c.on('error', () => undefined);
      this.failedStarts++;
      return undefined;
    }
    this.child = c;
    this.started = false;
    c.on('message', (m: LaunchReply) => {
      if (m.ready) {
        this.started = true;
        this.failedStarts = 0;
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.hold(c, false);
      if (m.ok) p.resolve({ code: m.code, stdout: m.stdout, stderr: m.stderr });
      else p.reject(errnoError(m.error, m.errno));
    });
    c.on('error', (e) => this.fail(c, e));
    c.on('exit', (code, signal) => this.fail(c, new Error(`the command launcher exited (${signal ?? code})`)));
    return c;
  }

  /** The helper could not start (run the waiting commands here instead) or died (fail them: they may have run). */
  private fail(c: ChildProcess, e: Error): void {
    if (this.child !== c) return;
    this.child = undefined;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    const neverStarted = !this.started;
    if (neverStarted) this.failedStarts++;
    for (const p of waiting) {
      if (neverStarted) spawnDirect(p.req.cmd, p.req.args, p.req.input).then(p.resolve, p.reject);
      else p.reject(e);
    }
    c.removeAllListeners('message');
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  /** Referenced only while a command is in flight: an idle helper must not keep a CLI or test process alive. */
  private hold(c: ChildProcess, on: boolean): void {
    if (on) {
      c.ref();
      c.channel?.ref();
    } else {
      c.unref();
      c.channel?.unref();
    }
  }
}

/** Compiled, the helper is launcher-child.js next to this file; from sources (tsx), the .ts with tsx loaded. */
function helperFile(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './launcher-child.ts' : './launcher-child.js', import.meta.url);
}

/** None of the daemon's flags (a --cpu-prof would profile the helper too), only tsx when running from sources. */
function helperExecArgv(): string[] {
  return import.meta.url.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
}

const shared = new Launcher();

/** Runs `cmd args` with `input` on its stdin; rejects (with the errno in `code`) when it cannot be started. */
export function launch(cmd: string, args: readonly string[], input = ''): Promise<Launched> {
  return shared.run(cmd, args, input);
}
