/**
 * The launcher's helper process (see launcher.ts): a small process that starts commands for the daemon, so
 * that the fork's cost, which grows with the forking process's memory, is paid here and not on the daemon's
 * event loop. Each request runs as soon as it arrives, several at once if they come so.
 */
// Only spawnDirect: the launcher's own helper is never started here.
import { spawnDirect } from './launcher.js';

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
  spawnDirect(r.cmd, r.args, r.input).then(
    (done) => send({ id: r.id, ok: true, ...done }),
    (e: NodeJS.ErrnoException) => send({ id: r.id, ok: false, error: e.message, ...(e.code ? { errno: e.code } : {}) }),
  );
}

process.on('message', (m: LaunchRequest) => launch(m));
// The daemon decides when work ends: a stop still needs nft after systemd's or a terminal's signal reached
// the whole group. When the daemon is gone (even after kill -9) the channel closes and this process ends.
process.on('SIGTERM', () => undefined);
process.on('SIGINT', () => undefined);
process.on('disconnect', () => process.exit(0));
send({ id: 0, ready: true });
