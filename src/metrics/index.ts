export { metricsModule, metricsRef, type MetricsApi, type MetricsView } from './module.js';
export { metricsSection, type MetricsConfig } from './config.js';
export { metricsPlugin } from './plugin.js';
