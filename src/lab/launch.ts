import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How to start one of the lab's Node scripts (servers, connect). When this module runs compiled
 * (dist/lab/*.js) the sibling .js is run by plain node; when it runs from src/ under tsx, the sibling .ts
 * is run with `--import tsx`. Taking the sibling of the running module (rather than "dist if it exists")
 * means a stale dist/ can never shadow the sources being tested.
 */

export type LabScript = 'servers' | 'connect' | 'swarm';

export interface NodeLaunch {
  readonly command: string;
  readonly args: readonly string[];
  /** Project root: `--import tsx` resolves from here. */
  readonly cwd: string;
}

const here = fileURLToPath(import.meta.url);
const labDir = dirname(here);
/** src/lab or dist/lab → project root. */
export const PROJECT_ROOT = resolve(labDir, '..', '..');

export function defaultScriptPath(script: LabScript): string {
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  return resolve(labDir, `${script}${ext}`);
}

/** `node [--import tsx] <script>`; pass `scriptPath` to run e.g. dist/lab/servers.js explicitly. */
export function nodeScriptLaunch(script: LabScript, scriptPath: string = defaultScriptPath(script)): NodeLaunch {
  if (!existsSync(scriptPath)) throw new Error(`lab script not found: ${scriptPath}`);
  const args = scriptPath.endsWith('.ts') ? ['--import', 'tsx', scriptPath] : [scriptPath];
  return { command: process.execPath, args, cwd: PROJECT_ROOT };
}
