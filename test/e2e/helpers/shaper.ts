import type { GatewayLab } from './gateway.js';
import type { ShaperStatus } from '../../../src/shaper/types.js';

/** Waits until `gatehouse shaper status` lists a share for each address (the shaper saw the resident). */
export async function waitForShares(g: GatewayLab, ips: readonly string[], timeoutMs = 15_000): Promise<ShaperStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await g.cliJson<ShaperStatus>(['shaper', 'status']);
    const known = new Set(s.clients.flatMap((c) => c.ips));
    if (ips.every((ip) => known.has(ip))) return s;
    if (Date.now() > deadline) throw new Error(`shaper status has no share for ${ips.filter((ip) => !known.has(ip)).join(', ')}: ${JSON.stringify(s.clients)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
