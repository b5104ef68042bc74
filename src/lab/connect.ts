/**
 * Probe agent: acts like a user inside one namespace. probe.ts starts one per namespace under nsenter and
 * talks JSON lines over stdin/stdout, so each probe costs a socket operation rather than a Node start-up.
 *
 *   --serve                 one request per stdin line: {"id":1,"op":"connect","req":{...}} → {"id":1,"result":{...}}
 *   --once '<json ProbeOp>' run one probe, print the result, exit (for humans and shell debugging)
 *
 * The agent exits when its stdin closes, i.e. when the process that started it goes away.
 */
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { request as httpRequest } from 'node:http';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import {
  classifyErrno,
  type ConnectRequest, type ConnectResult, type HttpRequest, type HttpResult,
  type ProbeOp, type ProbeResult, type UdpRequest, type UdpResult,
} from './outcome.js';

const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;
const errMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function probeConnect(req: ConnectRequest): Promise<ConnectResult> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  return new Promise((resolve) => {
    let done = false;
    let connectedAt: number | undefined;
    let banner = '';
    let sock: Socket | undefined;
    const finish = (r: ConnectResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock?.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => {
      if (connectedAt !== undefined) finish(connected());
      else finish({ outcome: 'timeout', ms: elapsed() });
    }, req.timeoutMs);
    const connected = (): ConnectResult => ({
      outcome: 'connected',
      ms: connectedAt ?? elapsed(),
      ...(banner ? { banner: banner.trim() } : {}),
    });
    try {
      sock = tcpConnect({
        host: req.host,
        port: req.port,
        ...(req.family ? { family: req.family } : {}),
        ...(req.sourceAddress ? { localAddress: req.sourceAddress } : {}),
      });
    } catch (err) {
      finish({ outcome: 'error', ms: elapsed(), message: errMessage(err) });
      return;
    }
    sock.on('connect', () => {
      connectedAt = elapsed();
      if (req.send !== undefined) sock?.write(req.send);
      const wait = req.bannerWaitMs ?? 300;
      if (wait <= 0) return finish(connected());
      setTimeout(() => finish(connected()), wait);
    });
    sock.on('data', (d: Buffer) => {
      banner += d.toString('utf8');
      // A line is enough to recognise the server; don't sit out the whole wait.
      if (banner.includes('\n')) finish(connected());
    });
    sock.on('end', () => {
      if (connectedAt !== undefined) finish(connected());
    });
    sock.on('error', (err) => {
      const code = errCode(err);
      if (connectedAt !== undefined) {
        // Reset after the handshake: the user saw the connection open and then die.
        finish({ outcome: 'reset', ms: elapsed(), ...(code ? { code } : {}), message: err.message, ...(banner ? { banner: banner.trim() } : {}) });
      } else {
        finish({ outcome: classifyErrno(code), ms: elapsed(), ...(code ? { code } : {}), message: err.message });
      }
    });
  });
}

export function probeHttp(req: HttpRequest): Promise<HttpResult> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  const maxBody = req.maxBodyBytes ?? 256 * 1024;
  return new Promise((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: HttpResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    let url: URL;
    try {
      url = new URL(req.url);
    } catch (err) {
      finish({ outcome: 'error', ms: 0, message: errMessage(err) });
      return;
    }
    timer = setTimeout(() => {
      finish({ outcome: 'timeout', ms: elapsed() });
      r.destroy();
    }, req.timeoutMs);
    const r = httpRequest(url, {
      method: req.method ?? 'GET',
      headers: { connection: 'close', ...(req.headers ?? {}) },
      agent: false,
      ...(req.sourceAddress ? { localAddress: req.sourceAddress } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < maxBody) chunks.push(c.subarray(0, maxBody - size));
        size += c.length;
      });
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        finish({ outcome: 'response', ms: elapsed(), status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => finish({ outcome: 'reset', ms: elapsed(), ...(errCode(err) ? { code: errCode(err) } : {}), message: err.message }));
    });
    r.on('error', (err) => {
      const code = errCode(err);
      finish({ outcome: classifyErrno(code), ms: elapsed(), ...(code ? { code } : {}), message: err.message });
    });
    r.end(req.body);
  });
}

export function probeUdp(req: UdpRequest): Promise<UdpResult> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  return new Promise((resolve) => {
    const family = isIP(req.host);
    if (family === 0) {
      resolve({ outcome: 'error', ms: 0, message: `udp probe needs an IP literal, got ${JSON.stringify(req.host)}` });
      return;
    }
    const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (r: UdpResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // Closing before bind completed.
      }
      resolve(r);
    };
    const timer = setTimeout(() => finish({ outcome: 'no-reply', ms: elapsed() }), req.timeoutMs);
    sock.on('error', (err) => {
      const code = errCode(err);
      const o = classifyErrno(code);
      finish({ outcome: o === 'refused' || o === 'unreachable' ? o : 'error', ms: elapsed(), ...(code ? { code } : {}), message: err.message });
    });
    sock.on('message', (msg) => finish({ outcome: 'reply', ms: elapsed(), reply: msg.toString('utf8') }));
    // A connected socket is what makes ICMP port-unreachable surface as ECONNREFUSED.
    sock.bind({ port: 0, ...(req.sourceAddress ? { address: req.sourceAddress } : {}) }, () => {
      sock.connect(req.port, req.host, () => {
        sock.send(req.payload ?? 'gatehouse-lab-udp-probe');
      });
    });
  });
}

export function runProbe(op: ProbeOp): Promise<ProbeResult> {
  switch (op.op) {
    case 'connect': return probeConnect(op.req);
    case 'http': return probeHttp(op.req);
    case 'udp': return probeUdp(op.req);
  }
}

function isProbeOp(v: unknown): v is ProbeOp {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { op?: unknown; req?: unknown };
  return (o.op === 'connect' || o.op === 'http' || o.op === 'udp') && typeof o.req === 'object' && o.req !== null;
}

async function serve(): Promise<void> {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let msg: { id?: unknown } & Record<string, unknown>;
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return;
    }
    const id = msg.id;
    if (!isProbeOp(msg)) {
      process.stdout.write(`${JSON.stringify({ id, result: { outcome: 'error', ms: 0, message: 'malformed probe request' } })}\n`);
      return;
    }
    void runProbe(msg).then((result) => process.stdout.write(`${JSON.stringify({ id, result })}\n`));
  });
  rl.on('close', () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--serve') return serve();
  if (argv[0] === '--once' && argv[1] !== undefined) {
    const op: unknown = JSON.parse(argv[1]);
    if (!isProbeOp(op)) throw new Error('expected {"op":"connect"|"http"|"udp","req":{...}}');
    process.stdout.write(`${JSON.stringify(await runProbe(op))}\n`);
    return;
  }
  throw new Error(`usage: connect --serve | --once '{"op":"connect","req":{"host":"…","port":22,"timeoutMs":2000}}'`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`probe agent failed: ${errMessage(err)}\n`);
    process.exit(1);
  });
}
