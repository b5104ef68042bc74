import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { spawnInNs } from '../../../src/lab/ns.js';

const SCRIPT = resolve(import.meta.dirname, 'notify-sink-child.ts');

export interface SinkLine {
  readonly type: 'listening' | 'mail' | 'webhook';
  readonly at: number;
  readonly subject?: string;
  readonly body?: string;
  readonly to?: string[];
  readonly user?: string;
  readonly contentType?: string;
}

/** A notify-sink-child process (SMTP or HTTP receiver), in a namespace or on the host; `received` fills as it prints. */
export class Sink {
  readonly received: SinkLine[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const l = JSON.parse(line) as SinkLine;
        if (l.type !== 'listening') this.received.push(l);
        else this.port = (l as SinkLine & { port: number }).port;
      } catch {
        return;
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The port it listens on, once it does. */
  port = 0;

  static async start(args: readonly string[], ns?: string): Promise<Sink> {
    const argv = ['--import', 'tsx', SCRIPT, ...args];
    const child = ns ? spawnInNs(ns, process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    const s = new Sink(child);
    await s.until(() => s.port > 0, 20_000, 'the sink to listen');
    return s;
  }

  /** Waits until `pred` holds (checked after every line), failing after `ms`. */
  async until(pred: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (this.child.exitCode !== null) throw new Error(`sink exited (${this.child.exitCode}) while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}; received: ${JSON.stringify(this.received, null, 1).slice(0, 3000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const done = new Promise<void>((r) => c.once('exit', () => r()));
    // nsenter passes the signal on to the node it exec'd (it replaces itself).
    c.kill('SIGTERM');
    await done;
  }
}
