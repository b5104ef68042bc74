import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * One commented-out section of examples/gatehouse.yaml, uncommented: from `# <section>:` to the first line
 * that is not a comment (the blank line before the next section's prose). Each module's config test checks
 * that its block, as documented, is valid.
 */
export function exampleBlock(section: string): string {
  const text = readFileSync(new URL('../../../examples/gatehouse.yaml', import.meta.url), 'utf8');
  const start = text.indexOf(`# ${section}:`);
  if (start < 0) throw new Error(`examples/gatehouse.yaml has no ${section} block`);
  const lines = text.slice(start).split('\n');
  const end = lines.findIndex((l) => !l.startsWith('#'));
  return lines
    .slice(0, end < 0 ? undefined : end)
    .map((l) => l.replace(/^# ?/, ''))
    .join('\n');
}
