import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/*
 * Secrets for the CLI come from stdin (a pipe, or typed without echo), never from argv, where `ps` and the
 * shell history would show them. Shared by `gatehouse users|vouchers|sessions` and `gatehouse admins`.
 */

/** All of stdin, as text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Typed at a terminal (no echo, asked twice), or the first line of a pipe. */
export async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) return (await readStdin()).split(/\r?\n/)[0] ?? '';
  let muted = false;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  // One interface for both questions: a second one would lose what the first had read ahead.
  const rl = createInterface({ input: process.stdin, output: out, terminal: true });
  const ask = (q: string) =>
    new Promise<string>((resolve) => {
      muted = false;
      rl.question(q, (a) => {
        process.stderr.write('\n');
        resolve(a);
      });
      muted = true;
    });
  try {
    const a = await ask(prompt);
    const b = await ask('again: ');
    if (a !== b) throw new Error('the two passwords differ');
    return a;
  } finally {
    rl.close();
  }
}
