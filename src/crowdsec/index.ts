export { crowdsecSections, type LapiConfig, type MirrorConfig } from './config.js';
export { crowdsecModule, crowdsecRef, type CrowdsecApi, type CrowdsecView } from './module.js';
export { startCrowdsecFeed } from './feed.js';
export { onlyFrom, startExtraServers, type ExtraServers, type ServersConfig } from './servers.js';
export { lapiRequestLabels, type LapiRequestLabels } from './lapi/index.js';
