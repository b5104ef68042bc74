/*
 * A mail or webhook receiver run as its own process (in a lab namespace or on the host's loopback): prints
 * one JSON line per message received. Usage: notify-sink-child.ts smtp PORT USER PASS | http PORT
 * SMTP: the smtp-server library, AUTH PLAIN/LOGIN required (no TLS: loopback only). HTTP: node:http.
 */
import { createServer } from 'node:http';
import { SMTPServer } from 'smtp-server';

const [mode, portText, user, pass] = process.argv.slice(2);
const port = Number(portText);
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

/** Quoted-printable and base64 bodies, RFC 2047 encoded words in headers: enough to read nodemailer's mail. */
function decodeBody(raw: string): { headers: Record<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = decodeWords(line.slice(i + 1).trim());
  }
  let body = raw.slice(split + 4);
  const enc = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  if (enc === 'quoted-printable') body = qp(body);
  else if (enc === 'base64') body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { headers, body };
}

function qp(s: string): string {
  const bytes: number[] = [];
  const t = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '=' && /^[0-9A-F]{2}$/i.test(t.slice(i + 1, i + 3))) {
      bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(t[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeWords(s: string): string {
  return s.replace(/\s*=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_m, kind: string, text: string) =>
    kind.toLowerCase() === 'b' ? Buffer.from(text, 'base64').toString('utf8') : qp(text.replace(/_/g, ' ')),
  );
}

if (mode === 'smtp') {
  const server = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === pass) cb(null, { user: auth.username });
      else cb(new Error('bad credentials'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const { headers, body } = decodeBody(Buffer.concat(chunks).toString('utf8'));
        out({ type: 'mail', at: Date.now(), from: session.envelope.mailFrom && session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), subject: headers.subject ?? '', body, user: session.user });
        cb();
      });
    },
  });
  server.listen(port, '127.0.0.1', () => out({ type: 'listening', port: (server.server.address() as { port: number }).port }));
} else if (mode === 'http') {
  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      out({ type: 'webhook', at: Date.now(), path: req.url, contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  http.listen(port, '127.0.0.1', () => out({ type: 'listening', port: (http.address() as { port: number }).port }));
} else {
  process.stderr.write('usage: notify-sink-child.ts smtp PORT USER PASS | http PORT\n');
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));
