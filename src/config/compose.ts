import { resolve } from 'node:path';
import { z } from 'zod';
import { ALWAYS, field, flagDuplicates, interfaceField, listenKey, nonEmptyString, stringList, type SectionFields } from './fields.js';

/*
 * The file schema, composed: the keys every gateway has (data_dir, log_level, interfaces) plus the
 * sections each module owns. Modules hand in builders rather than schemas because path fields resolve
 * against the config file's folder.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_DATA_DIR = '/var/lib/gatehouse';

export type SectionShape = Readonly<Record<string, z.ZodType>>;
export type SectionsBuilder<S extends SectionShape = SectionShape> = (fields: SectionFields) => S;

/** What config/ needs to know of a module to compose the file schema and check across sections. */
export interface SectionSource<S extends SectionShape = SectionShape> {
  readonly name: string;
  readonly sections: SectionsBuilder<S>;
  /** Given the file as written: does this module run and need interfaces.lan/wan? */
  readonly needsInterfaces?: (raw: Readonly<Record<string, unknown>>) => boolean;
  /** Config keys (`section.key`) holding TCP listen addresses: two servers on one address are refused. */
  readonly listenKeys?: readonly string[];
  /** Config keys (`section.key`) listing interfaces that must also be in interfaces.lan (the portal's captive ones). */
  readonly lanInterfaceKeys?: readonly string[];
}

function coreShape(f: SectionFields) {
  const interfaces = z
    .strictObject({
      lan: z.array(interfaceField()).default([]),
      wan: z.array(interfaceField()).default([]),
    })
    .superRefine((i, ctx) => {
      const lan = stringList(field(i, 'lan'));
      const wan = stringList(field(i, 'wan'));
      wan.forEach((name, idx) => {
        if (lan.includes(name)) {
          ctx.addIssue({ code: 'custom', path: ['wan', idx], message: `${JSON.stringify(name)} is listed as both lan and wan` });
        }
      });
      for (const side of ['lan', 'wan'] as const) {
        flagDuplicates(field(i, side), (v) => (typeof v === 'string' ? v : undefined), ctx, (n) => [side, n], 'interface', (n) => `interfaces.${side}[${n}]`);
      }
    }, ALWAYS);
  return {
    data_dir: f.path().prefault(DEFAULT_DATA_DIR),
    log_level: z.enum(LOG_LEVELS).default('info'),
    interfaces: interfaces.prefault({}),
  };
}

/** The order "allowed here" lists keys in: the one admins know (data_dir, log_level, api, interfaces, …). */
const INTERFACES_AFTER = 1;

type CoreShape = ReturnType<typeof coreShape>;
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type ShapesOf<T extends readonly SectionSource[]> = UnionToIntersection<ReturnType<T[number]['sections']>>;

/** Builds the file schema for a config living in `baseDir` from the sections of `sources`. */
export function composeConfigSchema<const T extends readonly SectionSource[]>(baseDir: string, sources: T) {
  const fields: SectionFields = { path: () => nonEmptyString().transform((p) => resolve(baseDir, p)) };
  const { interfaces, ...head } = coreShape(fields);
  const shape: Record<string, z.ZodType> = { ...head };
  for (const [i, s] of sources.entries()) {
    if (i === INTERFACES_AFTER) shape['interfaces'] = interfaces;
    for (const [key, schema] of Object.entries(s.sections(fields))) {
      if (key in shape) throw new Error(`config section ${key} is claimed twice (module ${s.name})`);
      shape[key] = schema;
    }
  }
  shape['interfaces'] ??= interfaces;
  const schema = z.strictObject(shape as CoreShape & ShapesOf<T>);
  return schema
    .superRefine((c, ctx) => {
      const raw = c as Readonly<Record<string, unknown>>;
      const needing = sources.filter((s) => s.needsInterfaces?.(raw)).map((s) => s.name);
      if (needing.length > 0) {
        const ifs = field(c, 'interfaces');
        for (const side of ['wan', 'lan'] as const) {
          const list = field(ifs, side);
          if (Array.isArray(list) && list.length === 0) {
            ctx.addIssue({
              code: 'custom',
              path: ['interfaces', side],
              message: `list at least one ${side.toUpperCase()} interface (the ${needing.join(' and ')} needs it to tell inbound from outbound; set firewall.inbound and firewall.outbound to off, or leave out both firewall: and interfaces:, to run without)`,
            });
          }
        }
      }
      // Refused at start-up otherwise: say it at `config check`, on the entry itself.
      const lan = stringList(field(field(c, 'interfaces'), 'lan'));
      for (const key of sources.flatMap((s) => s.lanInterfaceKeys ?? [])) {
        const [section, name] = key.split('.') as [string, string];
        const list = field(field(c, section), name);
        if (!Array.isArray(list)) continue;
        list.forEach((iface: unknown, idx) => {
          if (typeof iface === 'string' && !lan.includes(iface)) {
            const listed = lan.length > 0 ? `(${lan.join(', ')})` : '(empty)';
            ctx.addIssue({ code: 'custom', path: [section, name, idx], message: `${JSON.stringify(iface)} is not in interfaces.lan ${listed}: add it there, or leave it out here` });
          }
        });
      }
      // Two servers on one socket address would fail at start-up; say so now, naming both keys.
      const seen = new Map<string, string>();
      for (const key of sources.flatMap((s) => s.listenKeys ?? [])) {
        const [section, name] = key.split('.') as [string, string];
        const addr = listenKey(field(field(c, section), name));
        if (addr === undefined) continue;
        const other = seen.get(addr);
        if (other !== undefined) ctx.addIssue({ code: 'custom', path: [section, name], message: `same address as ${other}; give each server its own port` });
        else seen.set(addr, key);
      }
    }, ALWAYS)
    .transform((c) => c as z.output<typeof schema>);
}

