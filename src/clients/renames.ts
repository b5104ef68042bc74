import type { Migrations } from '../store/index.js';
import type { StoreHandle } from '../modules/index.js';
import { parseMac } from '../net/address.js';

/** Names given from the dashboard (or PUT /v1/clients/:mac/name), kept over restarts. */
export const clientsMigrations: Migrations = {
  module: 'clients',
  steps: [`CREATE TABLE client_names (mac TEXT PRIMARY KEY, name TEXT NOT NULL, updated_at INTEGER NOT NULL)`],
};

export class RenameError extends Error {
  override name = 'BadRequest';
}

/** A device name as reports show it: 1–63 printable characters, as clients.names takes them. */
export function checkDeviceName(name: string): string {
  const n = name.trim();
  if (n.length === 0 || n.length > 63) throw new RenameError('a device name has 1 to 63 characters');
  if (/[\u0000-\u001f\u007f]/.test(n)) throw new RenameError('a device name has no control characters');
  return n;
}

/**
 * The names in effect: clients.names from the config, overridden per MAC by a rename stored here (the admin
 * renamed it later, on purpose). `names` is the map the directory reads, updated in place.
 */
export class DeviceRenames {
  constructor(
    private readonly db: StoreHandle,
    private readonly names: Map<string, string>,
  ) {
    for (const r of db.prepare('SELECT mac, name FROM client_names').all() as { mac: string; name: string }[]) names.set(r.mac, r.name);
  }

  rename(macText: string, nameText: string): { mac: string; name: string } {
    let mac: string;
    try {
      mac = parseMac(macText);
    } catch (e) {
      throw new RenameError((e as Error).message);
    }
    const name = checkDeviceName(nameText);
    this.db.prepare('INSERT INTO client_names (mac, name, updated_at) VALUES (?, ?, ?) ON CONFLICT(mac) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at').run(mac, name, Date.now());
    this.names.set(mac, name);
    return { mac, name };
  }
}
