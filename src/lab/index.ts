/** The network-namespace lab: a LAN with two (or N) clients, a gateway and a small fake internet (optionally behind an ISP bottleneck). */
export {
  labTopology, validatePrefix, parseLabRate, MAX_CLIENTS, gatehouseInterfaces, interfacesByNamespace, siteUrl, feedUrl, inetServerAddresses,
  DEFAULT_PREFIX, PREFIX_PATTERN, STATE_ROOT, InvalidLabPrefixError,
  type LabTopology, type LabClient, type LabSite, type LabBottleneck, type LabBottleneckOption, type LabShapeOptions, type LabPortForward, type LabDns, type LabAddressPair,
} from './topology.js';
export {
  labUp, labDown, labStatus, labDnsUp, labDnsDown, serversSpawnArgs, LabTeardownError,
  type Lab, type LabUpOptions, type LabDownOptions, type LabDownReport, type LabStatus,
  type LabNamespaceStatus, type LabServerStatus, type LabServerProcess, type LabAddress,
} from './lab.js';
export {
  connectFrom, httpGetFrom, udpSendFrom, closeProbes,
  type ConnectOptions, type HttpOptions, type UdpOptions,
  type ConnectOutcome, type HttpOutcome, type UdpOutcome, type ConnectResult, type HttpResult, type UdpResult,
} from './probe.js';
export {
  nsExec, spawnInNs, ipIn, run, netnsPath, netnsExists, listNetns, pidsInNetns, killPids, isAlive, CommandError,
  type RunOptions, type RunResult,
} from './ns.js';
export { nodeScriptLaunch, defaultScriptPath, type NodeLaunch, type LabScript } from './launch.js';
export { startSwarm } from './swarm-serve.js';
export { labServers, bannerText, type ServerSpec, type Listener, type LabServer, type SiteName } from './server-spec.js';
export { SITE_MARKER, SITE_HEADER, PROBE_ANSWERS, type ProbeAnswer } from './pages.js';
export { CLI_PATH, deepMerge, LabGateway, labDnsConfig, labGatewayConfig, waitForDaemon, type CliResult } from './gateway-runner.js';
export { labNames, labZoneFile, nsdConfig, clientResolvConf, BAD_RANGE_MEMBER, ZONE_TTL, ZONE_NEGATIVE_TTL, type LabNames } from './zone.js';
export { labDnsAnswers, DNS_SERVER_NAME } from './lab-dns.js';
export { lookupFrom, parseDig, describeLookup, type LookupResult } from './lookup.js';
export { iperfTogether, iperfClientArgs, parseIperfJson, type IperfRun, type IperfResult, type IperfOptions } from './iperf.js';
export { jainIndex, percentile, summarize, mbit, type LatencySummary } from './fairness.js';
