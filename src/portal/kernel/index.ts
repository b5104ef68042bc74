export { portalFragment, PortalFragmentError, PORTAL_MODULE, type PortalFragmentOptions } from './fragment.js';
export { portalKernel, RuntimePortalKernel, type PortalKernelOptions } from './portal-kernel.js';
export { systemConntrack, type ConntrackRun } from './conntrack.js';
export type { Exemptions, OutsideDns } from './ops.js';
export { SPENT_SLACK_BYTES } from './accounting.js';
