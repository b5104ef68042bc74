import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface PermissionChange {
  readonly path: string;
  /** Octal text, e.g. "755". */
  readonly was: string;
  readonly now: string;
}

const octal = (mode: number) => (mode & 0o777).toString(8);

/**
 * The data dir holds the decision store, the LAPI's token key and the admin socket: only its owner may read
 * it. mkdir's mode only applies to a new directory, so an existing 0755 one (made by hand or by a package)
 * is tightened here, with every regular file in it (database, WAL, SHM, keys) cut to its owner's bits. The
 * database file is created 0600 before SQLite opens it, so its WAL and SHM (which SQLite creates with the
 * database's mode) start private too. Returns what it changed, for the log.
 */
export function secureDataDir(dir: string, dbFile = 'gatehouse.db'): PermissionChange[] {
  const changes: PermissionChange[] = [];
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tighten = (path: string, mode: number, want: number) => {
    if ((mode & 0o777) === want) return;
    chmodSync(path, want);
    changes.push({ path, was: octal(mode), now: octal(want) });
  };
  tighten(dir, lstatSync(dir).mode, 0o700);
  closeSync(openSync(join(dir, dbFile), 'a', 0o600));
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isFile()) tighten(path, st.mode, st.mode & 0o700);
  }
  return changes;
}
