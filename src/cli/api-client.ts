import { request as httpRequest } from 'node:http';
import type { Endpoint, RequestOf, ResponseOf } from '../api/index.js';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export interface ApiTarget {
  /** Unix socket path (the default), or an http://host:port base URL with a token. */
  readonly socket?: string;
  readonly url?: string;
  readonly token?: string;
}

/** A minimal client of the admin API; the CLI's only way to reach the daemon. */
export class ApiClient {
  constructor(private readonly target: ApiTarget) {}

  /** A call by the contract's endpoint table: the request and the answer have the types it gives them. */
  send<E extends Endpoint>(endpoint: E, req: RequestOf<E> = {}): Promise<ResponseOf<E>> {
    const space = endpoint.indexOf(' ');
    const params: Readonly<Record<string, string>> = req.params ?? {};
    let path = endpoint.slice(space + 1).replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) query.set(k, String(v));
    if (query.size > 0) path += `?${query}`;
    const text = typeof req.body === 'string';
    return this.call<ResponseOf<E>>(endpoint.slice(0, space), path, req.body, text ? { contentType: 'text/plain' } : {});
  }

  async call<T>(method: string, path: string, body?: unknown, opts: { contentType?: string } = {}): Promise<T> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    const url = this.target.url ? new URL(path, this.target.url) : undefined;
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        url
          ? { method, host: url.hostname, port: url.port, path: url.pathname + url.search, headers }
          : { method, socketPath: this.target.socket, path, headers },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          r.on('error', reject);
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        const where = url ? url.origin : this.target.socket;
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new ApiError(`cannot reach the gatehouse daemon at ${where} (is it running? start it with: gatehouse run --config FILE)`, 0));
        else if (e.code === 'EACCES') reject(new ApiError(`no permission to use ${where} (run as root)`, 0));
        else reject(new ApiError(`talking to the daemon at ${where} failed: ${e.message}`, 0));
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
    let json: unknown;
    try {
      json = res.text.length ? JSON.parse(res.text) : {};
    } catch {
      throw new ApiError(`the daemon answered ${res.status} with something that is not JSON`, res.status);
    }
    if (res.status >= 400) {
      const msg = typeof json === 'object' && json !== null && 'error' in json ? String((json as { error: unknown }).error) : `HTTP ${res.status}`;
      throw new ApiError(msg, res.status);
    }
    return json as T;
  }
}
