/**
 * Issue #9: the structure stays what the design says, checked on every test run so the next change cannot
 * break it silently. Scans the import statements of src/ (static, `export … from` and dynamic `import()`):
 * - a folder reaches another folder only through its index.ts (its face), never its internals;
 * - no lower layer imports a higher one (api → daemon, config → decisions, cli → store and the like);
 * - every folder has a layer, so a new module has to be placed before it can be imported.
 * The allowlist below is short and each entry says why; an entry that no longer matches an import fails too.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

/**
 * Layers, lowest first: a folder may import its own layer's folders and lower ones. Within one layer the
 * order is free but there must be no cycle (checked below).
 */
const LAYERS: readonly (readonly string[])[] = [
  ['net', 'lab', '(root)'],
  ['config', 'events', 'scheduler'],
  ['store'],
  ['modules'],
  ['decisions'],
  ['clients'],
  ['firewall'],
  ['feeds'],
  ['crowdsec'],
  ['dns'],
  ['shaper'],
  ['portal'],
  ['notify', 'metrics'],
  ['api'],
  ['web'],
  ['daemon'],
  ['cli'],
];

/** Folders whose files are each a face of their own: small stateless helpers imported one by one. */
const LIBRARY_FOLDERS: ReadonlyMap<string, string> = new Map([
  // One index for net/ would load fastify (listeners.ts) into everything that parses an IP, the CLI included.
  ['net', 'IP/CIDR/MAC parsing, listeners and the target guard are independent leaf helpers'],
]);

interface AllowEntry {
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

const ALLOW: readonly AllowEntry[] = [
  {
    from: 'modules/contract.ts',
    to: 'decisions/index.js',
    why: 'type-only: the module context hands every module the DecisionService, the one service all of them share',
  },
  {
    from: 'modules/contract.ts',
    to: 'firewall/index.js',
    why: "type-only: a module's Contribution carries a KernelFragment, the kernel table's vocabulary that firewall/ owns",
  },
];

interface Import {
  /** The importing file, relative to src/ with forward slashes. */
  readonly file: string;
  /** The imported file, relative to src/. */
  readonly target: string;
  readonly typeOnly: boolean;
}

function posix(p: string): string {
  return p.split(sep).join('/');
}

function folderOf(rel: string): string {
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '(root)';
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /\b(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g;

function importsOf(file: string, text: string): Import[] {
  const out: Import[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[2] ?? m[3];
    if (spec === undefined || !spec.startsWith('.')) continue;
    out.push({ file, target: posix(relative(SRC, resolve(dirname(join(SRC, file)), spec))), typeOnly: m[1] !== undefined });
  }
  return out;
}

function allImports(): Import[] {
  return tsFiles(SRC).flatMap((p) => {
    const file = posix(relative(SRC, p));
    return importsOf(file, readFileSync(p, 'utf8'));
  });
}

const rank = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i] as const)));
const allowed = (i: Import) => ALLOW.some((a) => a.from === i.file && a.to === i.target);
const crossFolder = (imports: readonly Import[]) => imports.filter((i) => folderOf(i.file) !== folderOf(i.target));
const show = (i: Import) => `${i.file} → ${i.target}${i.typeOnly ? ' (type)' : ''}`;

/** Cross-folder imports that reach past the target folder's face. */
export function internalsReached(imports: readonly Import[]): string[] {
  return crossFolder(imports)
    .filter((i) => {
      const to = folderOf(i.target);
      if (to === '(root)' || LIBRARY_FOLDERS.has(to)) return false;
      if (i.target === `${to}/index.js`) return false;
      // The composition root imports each context's light module.ts, so reading the config loads no servers.
      if (i.file === 'daemon/modules.ts' && i.target === `${to}/module.js`) return false;
      return !allowed(i);
    })
    .map(show);
}

/** Imports from a folder into a folder of a higher layer (or one with no layer). */
export function upwardImports(imports: readonly Import[]): string[] {
  return crossFolder(imports)
    .filter((i) => {
      const from = rank.get(folderOf(i.file));
      const to = rank.get(folderOf(i.target));
      return from === undefined || to === undefined || (to > from && !allowed(i));
    })
    .map(show);
}

/** The CLI is a client of the admin API: besides config and the lab, it reaches only faces made for it. */
const CLI_REACHES = new Set(['config', 'api', 'daemon', 'lab', 'cli', '(root)']);

export function cliBeyondClient(imports: readonly Import[]): string[] {
  return imports.filter((i) => folderOf(i.file) === 'cli' && !CLI_REACHES.has(folderOf(i.target))).map(show);
}

/** Folder-level cycles, by value imports (type-only ones are erased at build). */
export function folderCycles(imports: readonly Import[]): string[] {
  const edges = new Map<string, Set<string>>();
  for (const i of crossFolder(imports)) {
    if (i.typeOnly || allowed(i)) continue;
    const from = folderOf(i.file);
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)!.add(folderOf(i.target));
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...path.slice(path.indexOf(f)), f].join(' → '));
      return;
    }
    state.set(f, 'open');
    for (const to of edges.get(f) ?? []) visit(to, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of edges.keys()) visit(f, []);
  return cycles;
}

describe('architecture: folders and layers', () => {
  const imports = allImports();

  it('no folder imports another folder’s internals, only its index.ts', () => {
    assert.deepEqual(internalsReached(imports), []);
  });

  it('no lower layer imports a higher one, and every folder of src/ has a layer', () => {
    assert.deepEqual(upwardImports(imports), []);
    const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
    assert.deepEqual(
      folders.filter((f) => !rank.has(f)),
      [],
      'a new folder needs a place in LAYERS',
    );
  });

  it('the CLI imports no store, decisions or other context: only config, the API contract, the daemon face and the lab', () => {
    assert.deepEqual(cliBeyondClient(imports), []);
  });

  it('no two folders import each other (by value)', () => {
    assert.deepEqual(folderCycles(imports), []);
  });

  it('every allowlist entry still matches an import, and only a type-only one', () => {
    for (const a of ALLOW) {
      const hits = imports.filter((i) => i.file === a.from && i.target === a.to);
      assert.ok(hits.length > 0, `stale allowlist entry: ${a.from} → ${a.to}`);
      assert.ok(
        hits.every((i) => i.typeOnly),
        `${a.from} → ${a.to} is allowed as a type-only import only`,
      );
    }
  });

  it('the module list takes each module from its own context', () => {
    const list = imports.filter((i) => i.file === 'daemon/modules.ts');
    assert.ok(list.length >= 6, 'the module list imports the modules');
    for (const i of list) assert.match(i.target, /^[a-z]+\/module\.js$/, show(i));
  });
});

describe('architecture: the checks themselves', () => {
  const imp = (file: string, target: string, typeOnly = false): Import => ({ file, target, typeOnly });

  it('catch what issue #9 removed: api → daemon, config → decisions, cli → store', () => {
    const bad = [imp('api/module.ts', 'daemon/index.js'), imp('config/fields.ts', 'decisions/index.js'), imp('cli/context.ts', 'store/index.js')];
    assert.deepEqual(upwardImports(bad), ['api/module.ts → daemon/index.js', 'config/fields.ts → decisions/index.js']);
    assert.deepEqual(cliBeyondClient(bad), ['cli/context.ts → store/index.js']);
    assert.deepEqual(internalsReached([imp('cli/context.ts', 'store/db.js')]), ['cli/context.ts → store/db.js']);
    assert.deepEqual(folderCycles([imp('feeds/a.ts', 'crowdsec/index.js'), imp('crowdsec/b.ts', 'feeds/index.js')]), ['feeds → crowdsec → feeds']);
  });

  it('read every kind of import statement', () => {
    const text = [
      "import { a } from '../x/a.js';",
      "import type { B } from '../x/b.js';",
      "export { c } from '../x/c.js';",
      "export type { D } from '../x/d.js';",
      "const e = await import('../x/e.js');",
      "import 'node:fs';",
    ].join('\n');
    assert.deepEqual(
      importsOf('y/f.ts', text).map((i) => `${i.target}${i.typeOnly ? ' type' : ''}`),
      ['x/a.js', 'x/b.js type', 'x/c.js', 'x/d.js type', 'x/e.js'],
    );
  });
});
