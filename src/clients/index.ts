export { clientsSection, type ClientsConfig } from './config.js';
export { clientsModule, clientsRef } from './module.js';
