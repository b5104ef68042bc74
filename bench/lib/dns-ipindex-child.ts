/** A resolver worker's side of the IP index transfer (bench/dns-ipindex.ts): receive, rebuild, answer. */
import { IpIndex, type IpIndexTransfer } from '../../src/dns/index.js';

process.send!({ hello: true, rss: process.memoryUsage().rss });
process.on('message', (m: { transfer: IpIndexTransfer; probe: string }) => {
  const t0 = performance.now();
  const ix = IpIndex.fromTransfer(m.transfer);
  const ms = performance.now() - t0;
  process.send!({ fromTransferMs: ms, probe: ix.lookup(m.probe)?.target ?? null, rss: process.memoryUsage().rss }, () => process.exit(0));
});
