import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, HTTPMethods } from 'fastify';
import { tryParseTarget } from '../net/ip.js';
import type { DnsEndpoints, DnsExplain, DnsListStatus, DnsStatus } from './types.js';

/** Errors the admin API maps by class name (net/http-errors.ts): 400 and 404. */
class BadRequest extends Error {
  override name = 'BadRequest';
}
class NotFound extends Error {
  override name = 'NotFound';
}

function route<E extends keyof DnsEndpoints>(app: FastifyInstance, endpoint: E, handler: (req: FastifyRequest) => Promise<DnsEndpoints[E]['response']>): void {
  const space = endpoint.indexOf(' ');
  app.route({ method: endpoint.slice(0, space) as HTTPMethods, url: endpoint.slice(space + 1), handler });
}

export interface DnsRouteDeps {
  status(): DnsStatus;
  lists(): DnsListStatus[];
  /** undefined: no list by that name. */
  refresh(name: string | undefined): Promise<DnsListStatus[] | undefined>;
  explain(name: string, qtype: string, client: string): Promise<DnsExplain>;
  flush(): void;
  readonly optout: { list(): string[]; add(client: string): Promise<boolean>; delete(client: string): Promise<boolean> };
}

const NAME = /^[a-z0-9_.-]{1,253}\.?$/i;
const QTYPE = /^[A-Za-z0-9]{1,10}$/;
/** An opt-out names an IP, a CIDR, a MAC or a device name. */
const CLIENT = /^[A-Za-z0-9_.:/@' -]{1,64}$/;

function clientEntry(raw: unknown): string {
  if (typeof raw !== 'string' || !CLIENT.test(raw.trim())) throw new BadRequest('client: an IP, CIDR, MAC or device name (at most 64 characters)');
  const t = tryParseTarget(raw.trim());
  return t ? t.text : raw.trim();
}

/** `/v1/dns/...`: status, lists, refresh, query (explain), flush and opt-outs. */
export function dnsRoutes(d: DnsRouteDeps): FastifyPluginAsync {
  return async (app) => {
    route(app, 'GET /v1/dns/status', async () => d.status());
    route(app, 'GET /v1/dns/lists', async () => ({ lists: d.lists() }));
    route(app, 'POST /v1/dns/refresh', async (req) => {
      const name = (req.query as { name?: unknown }).name;
      if (name !== undefined && typeof name !== 'string') throw new BadRequest('name: a list name');
      const lists = await d.refresh(name);
      if (!lists) throw new NotFound(`no DNS list named ${String(name)} (known: ${d.lists().map((l) => l.name).join(', ') || 'none'})`);
      return { lists };
    });
    route(app, 'GET /v1/dns/query', async (req) => {
      const q = req.query as { name?: unknown; type?: unknown; client?: unknown };
      if (typeof q.name !== 'string' || !NAME.test(q.name)) throw new BadRequest('name: a domain name, e.g. ads.example.com');
      const type = q.type === undefined ? 'A' : q.type;
      if (typeof type !== 'string' || !QTYPE.test(type)) throw new BadRequest('type: a record type such as A, AAAA, HTTPS');
      const client = q.client === undefined ? '127.0.0.1' : q.client;
      const t = typeof client === 'string' ? tryParseTarget(client) : undefined;
      if (!t?.isHost) throw new BadRequest('client: an IP address');
      return d.explain(q.name, type, t.text);
    });
    route(app, 'POST /v1/dns/flush', async () => {
      d.flush();
      return { flushed: true as const };
    });
    route(app, 'GET /v1/dns/optout', async () => ({ optout: d.optout.list(), changed: false }));
    route(app, 'POST /v1/dns/optout', async (req) => {
      const client = clientEntry((req.body as { client?: unknown } | undefined)?.client);
      const changed = await d.optout.add(client);
      return { optout: d.optout.list(), changed };
    });
    route(app, 'DELETE /v1/dns/optout/:client', async (req) => {
      const client = clientEntry((req.params as { client: string }).client);
      const changed = await d.optout.delete(client);
      if (!changed) throw new NotFound(`${client} has not opted out`);
      return { optout: d.optout.list(), changed };
    });
  };
}
