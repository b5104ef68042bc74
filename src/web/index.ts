export { AccountError, AdminAccounts, type AdminAccount } from './accounts.js';
export { webSection, type WebConfig } from './config.js';
export { webModule, type WebView } from './module.js';
export { webMigrations } from './schema.js';
