/**
 * The launcher's helper process (see launcher.ts): a small process that starts commands for the daemon, so
 * that the fork's cost, which grows with the forking process's memory, is paid here and not on the daemon's
 * event loop. One request at a time is not required: each runs as soon as it arrives.
 */
import { spawn } from 'node:child_process';

export interface LaunchRequest {
  readonly id: number;
  readonly cmd: string;
  readonly args: readonly string[];
  readonly input: string;
}

/** `ready` once, when the helper listens; then one reply per request. */
export type LaunchReply =
  | { readonly id: 0; readonly ready: true }
  | { readonly id: number; readonly ready?: undefined; readonly ok: true; readonly code: number; readonly stdout: string; readonly stderr: string }
  | { readonly id: number; readonly ready?: undefined; readonly ok: false; readonly error: string; readonly errno?: string };

function send(reply: LaunchReply): void {
  process.send?.(reply);
}

function launch(r: LaunchRequest): void {
  let p;
  try {
    p = spawn(r.cmd, [...r.args], { stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    send({ id: r.id, ok: false, error: (e as Error).message });
    return;
  }
  let failed = false;
  p.on('error', (e: NodeJS.ErrnoException) => {
    failed = true;
    send({ id: r.id, ok: false, error: e.message, ...(e.code ? { errno: e.code } : {}) });
  });
  if (!p.stdout || !p.stderr || !p.stdin) return;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  p.stdout.on('data', (b: Buffer) => out.push(b));
  p.stderr.on('data', (b: Buffer) => err.push(b));
  p.on('close', (code) => {
    if (!failed) send({ id: r.id, ok: true, code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
  });
  p.stdin.on('error', () => undefined);
  p.stdin.end(r.input);
}

process.on('message', (m: LaunchRequest) => launch(m));
// The daemon decides when work ends: a stop still needs nft after systemd's or a terminal's signal reached
// the whole group. When the daemon is gone (even after kill -9) the channel closes and this process ends.
process.on('SIGTERM', () => undefined);
process.on('SIGINT', () => undefined);
process.on('disconnect', () => process.exit(0));
send({ id: 0, ready: true });
