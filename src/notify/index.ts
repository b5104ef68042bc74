export { notifyModule, notifyRef, type NotifyView } from './module.js';
export { notifySection, WEBHOOK_TEMPLATES, type NotifyConfig, type ChannelConfig, type RuleConfig } from './config.js';
export type { NotifyEndpoints, NotifyStatus, NotifyTestResult } from './contract.js';
export type { NotifyApi } from './run.js';
export type { QueuedMessage } from './queue.js';
export { RULE_KINDS, SEVERITIES, type Message, type Notice, type RuleKind, type Severity } from './types.js';
