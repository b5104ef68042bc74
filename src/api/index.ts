export { apiSection, apiSocketDefault, type ApiConfig } from './config.js';
export { apiModule, type ApiView } from './module.js';
