import type { ChildProcess } from 'node:child_process';
import { spawnInNs } from '../../src/lab/ns.js';
import type { BenchNamespace } from './netns.js';

/**
 * The list server as a separate process in the namespace, so its work (reading and sending the file)
 * is not counted in the daemon's memory, as with a real remote feed. It reads the file on every request
 * and sends no ETag or Last-Modified: every refresh downloads, parses and diffs the whole list.
 */
const SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const [file, port] = process.argv.slice(1);
http.createServer((req, res) => {
  fs.stat(file, (err, st) => {
    if (err) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': st.size });
    fs.createReadStream(file).pipe(res);
  });
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\\n'));
`;

export class FeedServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(ns: BenchNamespace, file: string, port = 18080): Promise<FeedServer> {
    const child = spawnInNs(ns.name, process.execPath, ['-e', SERVER, file, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`feed server did not start: ${stderr}`)), 10_000);
      child.stdout?.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`feed server exited (${code}): ${stderr}`));
      });
    }).catch((e: unknown) => {
      child.kill('SIGKILL');
      throw e;
    });
    return new FeedServer(child, `http://127.0.0.1:${port}/feed.txt`);
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    await exited;
  }
}
