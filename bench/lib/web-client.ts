/**
 * The dashboard benchmark's browser side, run inside a lab LAN namespace (bench/web.ts starts it with
 * nsenter): logs in, then either times pages or holds the live stream open while timing the API.
 * Prints one JSON line on stdout.
 *
 *   web-client.ts pages BASE NAME PASSWORD RUNS PATH...
 *   web-client.ts live  BASE NAME PASSWORD SECONDS
 */
import { request } from 'node:http';

const [mode, base, name, password, nStr, ...paths] = process.argv.slice(2) as [string, string, string, string, string, ...string[]];

function req(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const r = request(new URL(path, base), { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

async function login(): Promise<string> {
  const r = await req('POST', '/login', { 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ name, password }).toString());
  const c = r.headers['set-cookie'];
  if (r.status !== 303 || !c) throw new Error(`login failed: ${r.status} ${r.text.slice(0, 200)}`);
  return (Array.isArray(c) ? c[0]! : c).split(';')[0]!;
}

async function pages(): Promise<void> {
  const cookie = await login();
  const out: Record<string, { ms: number[]; status: number; bytes: number }> = {};
  for (const p of paths) {
    const ms: number[] = [];
    let last = { status: 0, bytes: 0 };
    for (let i = 0; i < Number(nStr); i++) {
      const r = await req('GET', p, { cookie });
      ms.push(r.ms);
      last = { status: r.status, bytes: r.text.length };
    }
    out[p] = { ms, ...last };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function live(): Promise<void> {
  const cookie = await login();
  const seconds = Number(nStr);
  let rows = 0;
  let events = 0;
  let missed = 0;
  let firstAt = 0;
  const perSecond: number[] = [];
  const t0 = performance.now();
  const sse = request(new URL('/live', base), { headers: { cookie } }, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (s: string) => {
      buf += s;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (frame.startsWith('event: block')) {
          const n = (frame.match(/<tr /g) ?? []).length;
          rows += n;
          events++;
          if (!firstAt) firstAt = performance.now() - t0;
          const sec = Math.floor((performance.now() - t0) / 1000);
          perSecond[sec] = (perSecond[sec] ?? 0) + n;
        } else if (frame.startsWith('event: missed')) missed += Number(/data: (\d+)/.exec(frame)?.[1] ?? 0);
      }
    });
  });
  sse.end();
  const api: number[] = [];
  const page: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    api.push((await req('GET', '/api/v1/status', { cookie })).ms);
    page.push((await req('GET', '/blocks', { cookie })).ms);
    await new Promise((r) => setTimeout(r, 200));
  }
  sse.destroy();
  process.stdout.write(JSON.stringify({ rows, events, missed, firstAt, perSecond, api, page }) + '\n');
}

(mode === 'pages' ? pages() : live()).catch((e: unknown) => {
  process.stderr.write(`web-client: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
