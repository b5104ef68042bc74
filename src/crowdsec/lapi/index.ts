export { lapiRoutes, type LapiDeps } from './routes.js';
export { signWatcherJwt, verifyWatcherJwt, type WatcherClaims } from './jwt.js';
export { formatGoDuration, parseGoDuration } from './go-duration.js';
export { watcherOrigin } from './alerts.js';
export type { ActivePages } from './stream.js';
