export { apiSection, apiSocketDefault, type ApiConfig } from './config.js';
export { apiModule, apiRef, type ApiProvides, type ApiView } from './module.js';
// The request and response types the CLI and the dashboard share with the routes.
export type * from './contract.js';
