import type { DaemonStatus } from '../../../src/api/contract.js';

/** A daemon status for tests that mount the admin routes without a daemon behind them. */
export const NO_STATUS: DaemonStatus = { version: '0.0.0', startedAt: 0, modules: [], firewall: null, lapi: null, mirror: null, feeds: 0, eventLoop: { p50Ms: 0, p99Ms: 0, maxMs: 0, samples: 0, since: 0 } };
