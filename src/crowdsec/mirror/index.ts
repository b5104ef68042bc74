export { aggregateCidrs, intervalToCidrs, type AggregatedCidr, type Span } from './aggregate.js';
export {
  renderMirror, renderMirrorChunks, selectRows, isMirrorFormat, MIRROR_FORMATS,
  type MirrorFormat, type MirrorItem, type MirrorOptions,
} from './render.js';
export { mirrorRoutes, prepareEndpoints, MirrorConfigError, type MirrorDeps, type MirrorEndpointConfig, type MirrorUser } from './routes.js';
export { MirrorDecisionReads, type ValueOrderRow, type ValueOrderQuery, type ValueOrderSource } from './value-order.js';
