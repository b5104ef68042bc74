/**
 * A minimal stand-in for the CrowdSec LAPI stream endpoint, for timing the real firewall bouncer: the
 * startup stream carries every decision of a file, later polls carry nothing. Wire details (null for
 * empty lists, key order, "Ip" scope) follow ../shared/research/crowdsec-peer.md. Runs inside the
 * benchmark namespace:  node --import tsx bench/lib/lapi-stub.ts PORT FILE   (FILE: one IPv4 per line)
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const [portText, file] = process.argv.slice(2);
if (!portText || !file) {
  console.error('usage: lapi-stub.ts PORT FILE');
  process.exit(2);
}
const ips = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
const startup = JSON.stringify({
  deleted: null,
  new: ips.map((value, i) => ({ duration: '23h59m59s', id: i + 1, origin: 'cscli', scenario: 'gatehouse-bench', scope: 'Ip', type: 'ban', value })),
});
const empty = JSON.stringify({ deleted: null, new: null });

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://lapi');
  if (url.pathname !== '/v1/decisions/stream') {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
    return;
  }
  const isStartup = url.searchParams.get('startup') === 'true';
  res.writeHead(200, { 'content-type': 'application/json' }).end(isStartup ? startup : empty);
  if (isStartup) console.log(`served ${ips.length}`);
});
server.listen(Number(portText), '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
