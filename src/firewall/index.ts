export { FIREWALL_MODES, firewallDefaults, firewallSection, firewallWanted, type FirewallConfig, type FirewallMode } from './config.js';
export { firewallModule, firewallRef, type FirewallApi, type FirewallOptions, type FirewallStatus, type FirewallView } from './module.js';
export { Enforcer, type ApplyStats, type EnforcerLog } from './enforcer.js';
export { HitCollector } from './collector.js';
export { NftError, prepareBatchDir, systemNftRunner, type NftRunner } from './nft.js';
export { applyKernelTable } from './kernel-table.js';
export { BASE_CHAINS, chainRef, HOOK_POINTS, ifnames, int, KernelFragmentError, kw, rule, setRef, type HookPoint, type KernelFragment, type NftRule, type NftToken } from './fragment.js';
export { KERNEL_TIMEOUT_CAP_SEC, kernelTimeoutSec, timeoutUntil } from './timeout.js';
export type { Mode, RulesetOptions } from './ruleset.js';
