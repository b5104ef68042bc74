export { FIREWALL_MODES, firewallDefaults, firewallSection, firewallWanted, type FirewallConfig, type FirewallMode } from './config.js';
export { firewallModule, firewallRef, type FirewallApi, type FirewallOptions, type FirewallStatus, type FirewallView } from './module.js';
export { Enforcer, type ApplyStats, type EnforcerLog } from './enforcer.js';
export { HitCollector } from './collector.js';
export { NftError, prepareBatchDir, systemNftRunner, type NftRunner } from './nft.js';
export { KERNEL_TIMEOUT_CAP_SEC, kernelTimeoutSec, timeoutUntil } from './timeout.js';
export type { Mode, RulesetOptions } from './ruleset.js';
