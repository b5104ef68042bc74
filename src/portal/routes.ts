import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, HTTPMethods } from 'fastify';
import { parseByteSize, parseDuration } from '../config/index.js';
import { tryParseMac } from '../net/address.js';
import { tryParseTarget } from '../net/ip.js';
import type { PortalEndpoints, VoucherCreateBody } from './api-types.js';
import type { SessionManager } from './manager.js';
import { AccountError, type UserRepo } from './users.js';
import { PREFIX_LENGTH, voucherIdentity, normalizeCode, type VoucherRepo } from './vouchers.js';

/** Errors the admin API maps by class name (net/http-errors.ts): 400 and 404. */
class BadRequest extends Error {
  override name = 'BadRequest';
}
class NotFound extends Error {
  override name = 'NotFound';
}

function route<E extends keyof PortalEndpoints>(app: FastifyInstance, endpoint: E, handler: (req: FastifyRequest) => Promise<PortalEndpoints[E]['response']>, bodyLimit?: number): void {
  const space = endpoint.indexOf(' ');
  app.route({ method: endpoint.slice(0, space) as HTTPMethods, url: endpoint.slice(space + 1), handler, ...(bodyLimit ? { bodyLimit } : {}) });
}

export interface PortalRouteDeps {
  readonly users: UserRepo;
  readonly vouchers: VoucherRepo;
  readonly manager: SessionManager;
}

const str = (v: unknown, what: string, max = 1024): string => {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new BadRequest(`${what}: a text of 1-${max} characters`);
  return v;
};

async function accounts<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AccountError) throw e.kind === 'missing' ? new NotFound(e.message) : new BadRequest(e.message);
    throw e;
  }
}

export const MAX_VOUCHERS = 1000;

/** `gatehouse vouchers create`'s fields, checked: a count, optional time and traffic with units, uses. */
export function voucherSpec(b: VoucherCreateBody | undefined) {
  const count = b?.count;
  if (!Number.isInteger(count) || count! < 1 || count! > MAX_VOUCHERS) throw new BadRequest(`count: a whole number from 1 to ${MAX_VOUCHERS}`);
  const uses = b?.uses ?? 1;
  if (!Number.isInteger(uses) || uses < 1 || uses > 1000) throw new BadRequest('uses: a whole number from 1 to 1000');
  const amount = (v: unknown, what: string, parse: (t: string) => number) => {
    if (v === undefined) return undefined;
    const text = str(v, what, 32);
    try {
      return parse(text);
    } catch (e) {
      throw new BadRequest(`${what}: ${(e as Error).message}`);
    }
  };
  const timeMs = amount(b?.time, 'time', parseDuration);
  if (timeMs !== undefined && timeMs <= 0) throw new BadRequest('time: must be longer than zero');
  const download = amount(b?.traffic, 'traffic', parseByteSize);
  const upload = amount(b?.upload, 'upload', parseByteSize);
  return { count: count!, uses, ...(timeMs !== undefined ? { timeMs } : {}), ...(download !== undefined ? { download } : {}), ...(upload !== undefined ? { upload } : {}) };
}

/** `/v1/portal/*`: accounts, vouchers and sessions for `gatehouse users|vouchers|sessions`. */
export function portalRoutes(d: PortalRouteDeps): FastifyPluginAsync {
  return async (app) => {
    route(app, 'GET /v1/portal/users', async () => ({ users: d.users.list() }));
    route(app, 'POST /v1/portal/users', async (req) => {
      const b = req.body as { name?: unknown; password?: unknown } | undefined;
      const name = str(b?.name, 'name', 64);
      await accounts(() => d.users.add(name, str(b?.password, 'password')));
      return { user: name };
    });
    route(app, 'PUT /v1/portal/users/:name/password', async (req) => {
      const name = (req.params as { name: string }).name;
      await accounts(() => d.users.passwd(name, str((req.body as { password?: unknown } | undefined)?.password, 'password')));
      return { user: name };
    });
    route(app, 'DELETE /v1/portal/users/:name', async (req) => {
      const name = (req.params as { name: string }).name;
      await accounts(() => d.users.delete(name));
      // A deleted account is out at once, not when its sessions time out.
      const ended = await d.manager.end({ user: name });
      return { user: name, sessionsEnded: ended.length };
    });
    route(
      app,
      'POST /v1/portal/users/import',
      async (req) => {
        if (typeof req.body !== 'string') throw new BadRequest('send the CSV (name,password per line) as text/plain');
        return d.users.import(req.body);
      },
      16 * 1024 * 1024,
    );
    route(app, 'GET /v1/portal/vouchers', async () => ({ vouchers: d.vouchers.list() }));
    route(app, 'POST /v1/portal/vouchers', async (req) => ({ codes: d.vouchers.create(voucherSpec(req.body as VoucherCreateBody | undefined)) }));
    route(app, 'DELETE /v1/portal/vouchers/:code', async (req) => {
      const code = str((req.params as { code: string }).code, 'code', 32);
      const n = normalizeCode(code);
      const v = n.length === PREFIX_LENGTH ? d.vouchers.byPrefix(n) : d.vouchers.lookup(code);
      const deleted = d.vouchers.delete(code);
      if (deleted === 0) throw new NotFound(`no voucher ${code} (give the code or the ${PREFIX_LENGTH} characters vouchers list shows)`);
      const ended = v ? await d.manager.end({ user: voucherIdentity(v.prefix) }) : [];
      return { deleted, sessionsEnded: ended.length };
    });
    route(app, 'GET /v1/portal/sessions', async () => ({ sessions: d.manager.list() }));
    route(app, 'POST /v1/portal/sessions/end', async (req) => {
      const b = (req.body ?? {}) as { id?: unknown; user?: unknown; client?: unknown };
      const given = (['id', 'user', 'client'] as const).filter((k) => b[k] !== undefined);
      if (given.length !== 1) throw new BadRequest('name exactly one of id, user, client');
      const k = given[0]!;
      let v = str(b[k], k, 128);
      if (k === 'client') {
        const t = tryParseTarget(v);
        v = t?.isHost ? t.text : (tryParseMac(v) ?? v);
      }
      const ended = await d.manager.end({ [k]: v });
      if (ended.length === 0) throw new NotFound(`no live session with ${k} ${String(b[k])}`);
      return { ended };
    });
  };
}
