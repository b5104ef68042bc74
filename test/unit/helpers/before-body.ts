import { request as httpRequest } from 'node:http';

/**
 * Sends the headers and the first 64 KB of a body said to be 1,000,000 bytes long (under every route's
 * limit, so no early 413), and resolves with the status if the server answers before the rest is sent —
 * i.e. without waiting for (reading, inflating) the body; 'waited for the body' after 3 s otherwise.
 */
export function answersBeforeBody(url: string, method: string, headers: Record<string, string> = {}): Promise<number | 'waited for the body'> {
  const u = new URL(url);
  return new Promise((done, fail) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path: u.pathname, headers: { 'content-type': 'text/plain', ...headers, 'content-length': '1000000' } });
    const timer = setTimeout(() => {
      req.destroy();
      done('waited for the body');
    }, 3000);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      req.destroy();
      done(res.statusCode ?? 0);
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.message.includes('socket hang up') ? undefined : fail(e)));
    req.write(Buffer.alloc(64 * 1024, 0x61));
  });
}
