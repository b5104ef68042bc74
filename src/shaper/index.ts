/*
 * The fair-share shaper: per-resident HTB classes classified by nft maps, P2P made unattractive, hog guards,
 * a fair-use class for the portal, status and hourly usage. Other contexts use only this face.
 */
export type { Direction, TrafficClass, QdiscCapabilities, P2pEvidence, ShapedClient, ShaperApi, ShaperStatus } from './types.js';
export type { ShaperEndpoints, ShaperFairUseRequest, ShaperStatusReport, ShaperUsageQuery, ShaperUsageResponse, ShaperUsageRow } from './status.js';
export { shaperSection, type ShaperConfig } from './config.js';
export { shaperModule, shaperRef, type ShaperView } from './module.js';
export { MARK_ELEPHANT, MARK_INTERACTIVE, MARK_P2P, SHAPER_MARK_MASK } from './marks.js';
