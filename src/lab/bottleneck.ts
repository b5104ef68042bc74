import type { LabTopology, LabBottleneck } from './topology.js';
import type { LabStep } from './plan.js';

/**
 * The lab's "ISP link": what a cable/DSL modem is to a real gateway. Both directions are HTB-limited inside
 * the inet namespace, so the gateway's own qdiscs stay free for Gatehouse's shaper:
 *
 *   download: inet `up0` egress → HTB at `downBps` with a modem-sized FIFO
 *   upload:   inet `up0` ingress → (clsact + u32 match-all + mirred) → ifb `isp-up` egress → HTB at `upBps`
 *
 * (the gateway's `wan0` egress is where the shaper puts its upload HTB, so the modem's upload queue must not
 * live there; this kernel has no `police` action, hence the ifb). The FIFOs are sized in time at the link
 * rate, like a modem's buffer: when the gateway does not shape below the link, this is where the queue —
 * and the latency — builds up. Pure: argv only, unit-tested.
 */

const NETNS_DIR = '/run/netns';

function inNs(ns: string, ...argv: string[]): LabStep {
  return { argv: ['nsenter', `--net=${NETNS_DIR}/${ns}`, ...argv] };
}

/** Bytes the modem buffers: bufferMs at the rate, but never less than a few GSO super-packets (veth sends 64 KiB ones). */
export function fifoBytes(bps: number, bufferMs: number): number {
  return Math.max(Math.round((bps / 8) * (bufferMs / 1000)), 3 * 65_536);
}

/** HTB burst: 5 ms at the rate, at least one full-size GSO packet, so the link reaches its rate at HZ granularity. */
export function burstBytes(bps: number): number {
  return Math.max(Math.round((bps / 8) * 0.005), 65_536);
}

function htbLink(ns: string, dev: string, bps: number, bufferMs: number): LabStep[] {
  const burst = String(burstBytes(bps));
  return [
    inNs(ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '1'),
    inNs(ns, 'tc', 'class', 'replace', 'dev', dev, 'parent', '1:', 'classid', '1:1', 'htb',
      'rate', `${bps}bit`, 'ceil', `${bps}bit`, 'burst', burst, 'cburst', burst, 'quantum', '60000'),
    inNs(ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'parent', '1:1', 'handle', '10:', 'bfifo', 'limit', String(fifoBytes(bps, bufferMs))),
  ];
}

export function bottleneckSteps(topo: LabTopology, b: LabBottleneck): LabStep[] {
  const { ns, uplink } = topo.inet;
  return [
    ...htbLink(ns, uplink, b.downBps, b.bufferMs),
    { argv: ['ip', '-n', ns, 'link', 'add', b.ifb, 'type', 'ifb'] },
    { argv: ['ip', '-n', ns, 'link', 'set', b.ifb, 'up'] },
    ...htbLink(ns, b.ifb, b.upBps, b.bufferMs),
    inNs(ns, 'tc', 'qdisc', 'replace', 'dev', uplink, 'clsact'),
    inNs(ns, 'tc', 'filter', 'add', 'dev', uplink, 'ingress', 'protocol', 'all', 'prio', '1', 'u32', 'match', 'u32', '0', '0',
      'action', 'mirred', 'egress', 'redirect', 'dev', b.ifb),
  ];
}
