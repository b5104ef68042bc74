import { dirname, resolve } from 'node:path';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { describe } from './fields.js';
import { suggestKey } from './suggest.js';
import { aliasExpansion, ConfigTooLargeError, MAX_ALIAS_VALUES, MAX_CONFIG_BYTES, readConfigFileCapped } from './yaml-limits.js';

/** One thing wrong with a config file, located for an editor jump: line and column are 1-based, 0 = whole file. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Key path like `feeds[1].format`; empty for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

/** Thrown by loadConfig; the message lists every problem, one `FILE:LINE:COL: path: message` per line. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path === '' ? `${where}: ${p.message}` : `${where}: ${p.path}: ${p.message}`;
}

export const DEFAULT_CONFIG_PATH = '/etc/gatehouse/gatehouse.yaml';

/** Where the daemon and CLI look when no --config is given. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['GATEHOUSE_CONFIG'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_CONFIG_PATH;
}

export type ConfigResult<C> =
  | { readonly ok: true; readonly config: C; readonly problems: readonly [] }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Reading, checking and loading config files against one schema (the composed one: see src/daemon/config.ts). */
export interface ConfigLoader<C> {
  readConfig(file: string): ConfigResult<C>;
  parseConfigText(text: string, file: string, baseDir: string): ConfigResult<C>;
  configFromObject(obj: unknown, sourceName: string, baseDir?: string): C;
  checkConfig(file: string): ConfigProblem[];
  loadConfig(file: string): C;
}

type AnySchema = z.ZodType<unknown, unknown>;

/** Binds the loading mechanism to a schema built per config folder (relative paths resolve against it). */
export function createConfigLoader<S extends AnySchema>(buildSchema: (baseDir: string) => S): ConfigLoader<z.output<S>> {
  type C = z.output<S>;
  // Building the schema costs several ms (zod compiles each object); checks in a loop reuse it per folder.
  const schemaCache = new Map<string, S>();
  const schemaFor = (baseDir: string): S => {
    let schema = schemaCache.get(baseDir);
    if (schema === undefined) {
      if (schemaCache.size >= 16) schemaCache.clear();
      schema = buildSchema(baseDir);
      schemaCache.set(baseDir, schema);
    }
    return schema;
  };
  const validateWith = (raw: unknown, file: string, baseDir: string, locateKey: Locator): ConfigResult<C> =>
    validate(schemaFor(baseDir), raw, file, baseDir, locateKey) as ConfigResult<C>;

  const parseConfigText = (text: string, file: string, baseDir: string): ConfigResult<C> => parseText(text, file, baseDir, validateWith);
  const readConfig = (file: string): ConfigResult<C> => {
    let text: string;
    try {
      text = readConfigFileCapped(file);
    } catch (e) {
      if (e instanceof ConfigTooLargeError) return fail([{ file, line: 0, column: 0, path: '', message: e.message }]);
      return fail([{ file, line: 0, column: 0, path: '', message: `cannot read config file: ${readErrorText(e)}` }]);
    }
    return parseConfigText(text, file, dirname(resolve(file)));
  };
  return {
    readConfig,
    parseConfigText,
    /** Builds a config from a plain object (tests, the lab demo); problems carry no line numbers. */
    configFromObject(obj, sourceName, baseDir = process.cwd()) {
      const result = validateWith(obj, sourceName, baseDir, () => ({ line: 0, column: 0 }));
      if (!result.ok) throw new ConfigError(result.problems);
      return result.config;
    },
    checkConfig: (file) => [...readConfig(file).problems],
    loadConfig(file) {
      const result = readConfig(file);
      if (!result.ok) throw new ConfigError(result.problems);
      return result.config;
    },
  };
}

type Validate<C> = (raw: unknown, file: string, baseDir: string, locateKey: Locator) => ConfigResult<C>;

/** Parses YAML text as a config; `baseDir` is where relative paths inside it point to. */
function parseText<C>(text: string, file: string, baseDir: string, validate: Validate<C>): ConfigResult<C> {
  if (text.length > MAX_CONFIG_BYTES) {
    return fail([{ file, line: 0, column: 0, path: '', message: `the config is ${text.length} characters; the limit is ${MAX_CONFIG_BYTES}` }]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    // Validating a half-parsed document would mostly report the syntax error again in confusing words.
    return fail(doc.errors.map((err) => ({ file, ...at(err.pos[0]), path: '', message: `YAML syntax: ${firstLine(err.message)}` })));
  }
  if (aliasExpansion(doc) > MAX_ALIAS_VALUES) {
    return fail([{ file, line: 1, column: 1, path: '', message: `YAML: aliases would expand to more than ${MAX_ALIAS_VALUES} values; write the values out or share fewer` }]);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return fail([{ file, line: 1, column: 1, path: '', message: `YAML: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  return validate(raw ?? {}, file, baseDir, (path) => at(locate(doc, path)));
}

type Locator = (path: readonly PropertyKey[]) => { line: number; column: number };

function validate(schema: AnySchema, raw: unknown, file: string, _baseDir: string, locateKey: Locator): ConfigResult<unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail([{ file, ...locateKey([]), path: '', message: `the config must be a mapping of keys (data_dir:, interfaces:, …), got ${describe(raw)}` }]);
  }
  const parsed = schema.safeParse(raw, { error: friendlyMessage });
  if (parsed.success) return { ok: true, config: parsed.data, problems: [] };
  const problems: ConfigProblem[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const hint = suggestKey(schema, issue.path, key);
        problems.push({ file, ...locateKey(path), path: formatPath(path), message: `unknown key${hint}` });
      }
    } else {
      problems.push({ file, ...locateKey(issue.path), path: formatPath(issue.path), message: issue.message });
    }
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return fail(problems);
}

/** Wording for zod's generic issues, phrased for someone editing YAML rather than calling an API. */
function friendlyMessage(iss: z.core.$ZodRawIssue): string | undefined {
  if (iss.code === 'invalid_type') {
    if (iss.input === undefined) return 'required key is missing';
    const expected =
      iss.expected === 'object' ? 'a mapping' : iss.expected === 'array' ? 'a list' : iss.expected === 'int' ? 'a whole number' : `a ${iss.expected}`;
    return `expected ${expected}, got ${describe(iss.input)}`;
  }
  if ((iss.code === 'too_big' || iss.code === 'too_small') && iss.origin === 'number') {
    const bound = iss.code === 'too_big' ? `at most ${iss.maximum}` : `at least ${iss.minimum}`;
    return `must be ${bound}, got ${describe(iss.input)}`;
  }
  if (iss.code === 'invalid_value') {
    return `expected one of ${iss.values.map((v) => String(v)).join(', ')}; got ${describe(iss.input)}`;
  }
  return undefined;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/**
 * Source offset for a key path: the key itself when it exists, otherwise the deepest existing parent
 * (a missing `url` is reported on the feed's `- name:` line).
 */
function locate(doc: Document, path: readonly PropertyKey[]): number {
  let node: unknown = doc.contents;
  let offset = isNode(node) && node.range ? node.range[0] : 0;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      if (isNode(pair.key) && pair.key.range) offset = pair.key.range[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (!isNode(item)) break;
      if (item.range) offset = item.range[0];
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

function fail(problems: readonly ConfigProblem[]): { readonly ok: false; readonly problems: readonly ConfigProblem[] } {
  return { ok: false, problems };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function readErrorText(e: unknown): string {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return e instanceof Error ? e.message : String(e);
}
