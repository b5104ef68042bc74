import { inetServerAddresses, type LabTopology } from './topology.js';
import { bottleneckSteps } from './bottleneck.js';

/**
 * The lab as an ordered list of argv commands. Pure, so a unit test can prove that every command is
 * scoped to a lab namespace (the host's links, routes and nft ruleset are never touched).
 */
export interface LabStep {
  readonly argv: readonly string[];
  /** Fed to the command's stdin (nft -f -). */
  readonly input?: string;
}

const NETNS_DIR = '/run/netns';

function ip(ns: string, ...args: string[]): LabStep {
  return { argv: ['ip', '-n', ns, ...args] };
}

function sysctl(ns: string, settings: Record<string, string>): LabStep {
  // sysctl under /proc/sys/net/ follows the network namespace of the process that opens it.
  return {
    argv: ['nsenter', `--net=${NETNS_DIR}/${ns}`, 'sysctl', '-q', '-w', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)],
  };
}

export function natRuleset(topo: LabTopology): string {
  const { natTable: t, gateway: gw, portForward: pf, networks } = topo;
  // Delete-then-define keeps `up` re-runnable; the empty `table` line makes the delete valid when absent.
  return [
    `table ${t.family} ${t.name}`,
    `delete table ${t.family} ${t.name}`,
    `table ${t.family} ${t.name} {`,
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    `    iifname "${gw.wanInterface}" ip daddr ${pf.wanAddress} ${pf.protocol} dport ${pf.wanPort} dnat ip to ${pf.toAddress}:${pf.toPort}`,
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    oifname "${gw.wanInterface}" ip saddr ${networks.lan4} masquerade`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

export function buildPlan(topo: LabTopology): LabStep[] {
  const { gateway: gw, inet, clients } = topo;
  const steps: LabStep[] = [];
  for (const ns of topo.namespaces.all) steps.push({ argv: ['ip', 'netns', 'add', ns] });
  for (const ns of topo.namespaces.all) {
    // Set before links exist so every new interface inherits "no DAD": v6 addresses usable at once.
    // Forwarding is set explicitly because new namespaces may inherit it from the host.
    // The inet namespace forwards too, so a packet to an address the lab's internet lacks gets a quick ICMP
    // "net unreachable" (it has no default route, so it can only forward inside the lab).
    const forward = ns === gw.ns || ns === inet.ns ? '1' : '0';
    steps.push(sysctl(ns, {
      'net.ipv6.conf.default.accept_dad': '0',
      'net.ipv6.conf.all.accept_dad': '0',
      'net.ipv4.ip_forward': forward,
      'net.ipv6.conf.all.forwarding': forward,
    }));
    steps.push(ip(ns, 'link', 'set', 'lo', 'up'));
  }

  steps.push(ip(gw.ns, 'link', 'add', gw.lanBridge, 'address', gw.lanBridgeMac, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'));
  steps.push(ip(gw.ns, 'link', 'set', gw.lanBridge, 'up'));
  for (const c of clients) {
    // Created straight inside the lab namespaces: no interface ever appears in the host namespace.
    steps.push(ip(gw.ns, 'link', 'add', c.gatewayPort, 'type', 'veth', 'peer', 'name', c.ifname, 'address', c.mac, 'netns', c.ns));
    steps.push(ip(gw.ns, 'link', 'set', c.gatewayPort, 'master', gw.lanBridge));
    steps.push(ip(gw.ns, 'link', 'set', c.gatewayPort, 'up'));
    steps.push(ip(c.ns, 'link', 'set', c.ifname, 'up'));
    steps.push(ip(c.ns, 'addr', 'add', `${c.ipv4}/24`, 'dev', c.ifname));
    steps.push(ip(c.ns, '-6', 'addr', 'add', `${c.ipv6}/64`, 'dev', c.ifname, 'nodad'));
    steps.push(ip(c.ns, 'route', 'add', 'default', 'via', gw.lanIpv4, 'dev', c.ifname));
    steps.push(ip(c.ns, '-6', 'route', 'add', 'default', 'via', gw.lanIpv6, 'dev', c.ifname));
  }
  steps.push(ip(gw.ns, 'addr', 'add', `${gw.lanIpv4}/24`, 'dev', gw.lanBridge));
  steps.push(ip(gw.ns, '-6', 'addr', 'add', `${gw.lanIpv6}/64`, 'dev', gw.lanBridge, 'nodad'));

  steps.push(ip(gw.ns, 'link', 'add', gw.wanInterface, 'address', gw.wanMac, 'type', 'veth', 'peer', 'name', inet.uplink, 'address', inet.uplinkMac, 'netns', inet.ns));
  steps.push(ip(gw.ns, 'link', 'set', gw.wanInterface, 'up'));
  steps.push(ip(gw.ns, 'addr', 'add', `${gw.wanIpv4}/24`, 'dev', gw.wanInterface));
  steps.push(ip(gw.ns, '-6', 'addr', 'add', `${gw.wanIpv6}/64`, 'dev', gw.wanInterface, 'nodad'));
  // The gateway's default route points at the lab's own internet router, which has no default route.
  steps.push(ip(gw.ns, 'route', 'add', 'default', 'via', inet.routerIpv4, 'dev', gw.wanInterface));
  steps.push(ip(gw.ns, '-6', 'route', 'add', 'default', 'via', inet.routerIpv6, 'dev', gw.wanInterface));

  steps.push(ip(inet.ns, 'link', 'set', inet.uplink, 'up'));
  steps.push(ip(inet.ns, 'addr', 'add', `${inet.routerIpv4}/24`, 'dev', inet.uplink));
  steps.push(ip(inet.ns, '-6', 'addr', 'add', `${inet.routerIpv6}/64`, 'dev', inet.uplink, 'nodad'));
  const servers = inetServerAddresses(topo);
  for (const a of servers.ipv4) {
    steps.push(ip(inet.ns, 'addr', 'add', `${a}/32`, 'dev', inet.serverInterface));
  }
  for (const a of servers.ipv6) {
    steps.push(ip(inet.ns, '-6', 'addr', 'add', `${a}/128`, 'dev', inet.serverInterface, 'nodad'));
  }
  // IPv6 is routed, not NATed: the internet knows the LAN prefix (IPv4 LAN stays hidden behind masquerade).
  steps.push(ip(inet.ns, '-6', 'route', 'add', topo.networks.lan6, 'via', gw.wanIpv6, 'dev', inet.uplink));

  if (topo.bottleneck) steps.push(...bottleneckSteps(topo, topo.bottleneck));

  steps.push({ argv: ['nsenter', `--net=${NETNS_DIR}/${gw.ns}`, 'nft', '-f', '-'], input: natRuleset(topo) });
  return steps;
}
