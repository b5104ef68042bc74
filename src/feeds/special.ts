// The special ranges are shared with every other source of decisions (admin, LAPI, CrowdSec): see net/.
export { specialReason } from '../net/special.js';
