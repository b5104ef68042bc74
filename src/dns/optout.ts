import type { StoreHandle } from '../modules/index.js';
import type { Migrations } from '../store/index.js';

/*
 * Clients opted out of the DNS filter's lists (`gatehouse dns optout add CLIENT`): kept in the store so the
 * choice survives restarts without editing the YAML. A client is an IP, a CIDR, a MAC or a device name.
 */

export const dnsMigrations: Migrations = {
  module: 'dns',
  steps: [`CREATE TABLE dns_optout (client TEXT PRIMARY KEY, created_at INTEGER NOT NULL)`],
};

export class OptoutRepo {
  constructor(private readonly db: StoreHandle) {}

  list(): string[] {
    return (this.db.prepare('SELECT client FROM dns_optout ORDER BY created_at, client').all() as { client: string }[]).map((r) => r.client);
  }

  add(client: string): boolean {
    return this.db.prepare('INSERT OR IGNORE INTO dns_optout (client, created_at) VALUES (?, ?)').run(client, Date.now()).changes > 0;
  }

  delete(client: string): boolean {
    return this.db.prepare('DELETE FROM dns_optout WHERE client = ?').run(client).changes > 0;
  }
}
