// The portal's web part: the pages residents see (login, status), the OS probes and RFC 8908.
export { startPortalWeb } from './server.js';
export type { BlockReader, PortalDnsOptout, PortalWeb, PortalWebConfig, PortalWebLog, PortalWebOptions, SessionEnding } from './types.js';
export { DEFAULT_TEXTS, PORTAL_TEXT_KEYS, type PortalTextKey, type PortalTexts } from './texts.js';

