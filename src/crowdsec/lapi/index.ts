export { lapiRoutes, type LapiDeps } from './routes.js';
export { lapiRequestLabels, type LapiRequestLabels } from './request-labels.js';
export { signWatcherJwt, verifyWatcherJwt, type WatcherClaims } from './jwt.js';
export { formatDuration as formatGoDuration, tryParseDuration as parseGoDuration } from '../../config/index.js';
export { watcherOrigin } from './alerts.js';
export type { ActivePages } from './stream.js';
export { LapiDecisionReads, type ActiveRow, type ActivePageQuery } from './decision-reads.js';
