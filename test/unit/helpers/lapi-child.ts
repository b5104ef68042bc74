/**
 * A LAPI server alone in its own process, so a test can measure that process's memory and responsiveness
 * (`/proc/PID/status`) without the test's own allocations in the figure. Prints one JSON line
 * `{"port":N}` once it listens; exits when stdin closes.
 */
import Fastify from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDecisionStore } from '../../../src/decisions/store-service.js';
import { LapiCredentials } from '../../../src/store/lapi-credentials.js';
import { lapiMigrations } from '../../../src/store/lapi-schema.js';
import { lapiRoutes } from '../../../src/crowdsec/lapi/routes.js';

export const CHILD_BOUNCER_KEY = 'childbouncerkey0123456789abcdef01';
export const CHILD_MACHINE = { machine_id: 'child-watcher', password: 'childWatcherPassw0rd-long' };

if (process.argv[2] === 'serve') {
  const dir = mkdtempSync(join(tmpdir(), 'lapi-child-'));
  const store = openDecisionStore(dir, { migrations: [lapiMigrations] });
  const creds = new LapiCredentials(store.db);
  creds.addBouncer('child-bouncer', CHILD_BOUNCER_KEY);
  creds.addMachine(CHILD_MACHINE.machine_id, CHILD_MACHINE.password);
  const app = Fastify({ logger: false });
  await app.register(lapiRoutes({ decisions: store.service, credentials: creds, db: store.db, profile: { durationMs: 4 * 3600_000, direction: 'both' }, jwtSecret: Buffer.alloc(32, 7) }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  process.stdout.write(JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => {
    void app.close().then(() => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}
