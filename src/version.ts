import { readFileSync } from 'node:fs';

/**
 * Gatehouse's version, read from package.json: the one place it is written. Both src/ (under tsx) and
 * dist/ sit beside package.json, in a checkout and in an installed tree alike. Read once, at load.
 */
export const VERSION: string = readVersion();

function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no version');
  return pkg.version;
}
