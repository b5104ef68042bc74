/**
 * Sends one small UDP datagram to each of N addresses every second, for S seconds: run inside a lab LAN
 * namespace, it makes N blocked connection attempts a second when the addresses are listed.
 *
 *   udp-sender.ts FIRST_IPV4 COUNT SECONDS PORT
 */
import { createSocket } from 'node:dgram';

const [first, countStr, secondsStr, portStr] = process.argv.slice(2) as [string, string, string, string];
const base = first.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const ips = Array.from({ length: Number(countStr) }, (_, i) => {
  const v = base + i;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
});
const sock = createSocket('udp4');
sock.on('error', () => undefined); // ICMP unreachable answers from the gateway's reject: expected
const payload = Buffer.from('gatehouse bench');
let sent = 0;
const end = Date.now() + Number(secondsStr) * 1000;
const tick = () => {
  // Spread over the second in 10 slices, so the collector sees a steady flow, not one burst.
  const slices = 10;
  let s = 0;
  const slice = () => {
    for (let i = Math.floor((s * ips.length) / slices); i < Math.floor(((s + 1) * ips.length) / slices); i++) {
      sock.send(payload, Number(portStr), ips[i]!);
      sent++;
    }
    if (++s < slices) setTimeout(slice, 100);
  };
  slice();
  if (Date.now() + 1000 < end) setTimeout(tick, 1000);
  else setTimeout(() => {
    process.stdout.write(JSON.stringify({ sent }) + '\n');
    sock.close();
  }, 1100);
};
tick();
