import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export interface ConfigFiles {
  /** The temporary directory, removed after the test file. */
  readonly dir: string;
  /** Writes YAML to a new file (leading newline stripped so line numbers in the test match the text) and returns its path. */
  write(yaml: string): string;
}

/** Config files for one test file, in a temporary directory named with `prefix`; call at the top level. */
export function configFiles(prefix: string): ConfigFiles {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let fileNo = 0;
  return {
    dir,
    write(yaml) {
      const file = join(dir, `c${++fileNo}.yaml`);
      writeFileSync(file, yaml.replace(/^\n/, ''));
      return file;
    },
  };
}
