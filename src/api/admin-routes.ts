import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DecisionService } from '../decisions/index.js';
import { iterateImportText, type ImportSkips } from '../decisions/index.js';
import { addInChunks, type BulkKernel } from '../decisions/index.js';
import { covers, parseTarget } from '../net/ip.js';
import { allowRefusal, banRefusal, NO_NETWORKS, type NetworkContext } from '../net/target-guard.js';
import { parseDuration } from '../config/index.js';
import { KERNEL_TIMEOUT_CAP_SEC } from '../firewall/index.js';
import type { BlockEventRepo } from '../store/index.js';
import { DIRECTIONS, type Direction, type NewDecision } from '../decisions/index.js';
import { BadRequest, NotFound } from './errors.js';
import type * as Api from './contract.js';
import { route } from './route.js';

/** The kernel side (BulkKernel) lets an import's chunks reach nft while SQLite writes them. */
export interface AdminDeps extends BulkKernel {
  readonly decisions: DecisionService;
  readonly blocks: BlockEventRepo;
  /** Resolves once the kernel holds every change made so far: writes answer only after enforcement. */
  readonly enforced: () => Promise<void>;
  /** Reads fresh hit counters into block events, so a report is never a poll interval behind. */
  readonly collect: () => Promise<void>;
  /**
   * What the composition root reports about itself; the status route adds the counts. `resetEventLoop`:
   * start a new event-loop-delay window after this read (`?reset_event_loop=true`).
   */
  readonly status: (o: { resetEventLoop: boolean }) => Api.DaemonStatus;
  /** The gateway's LAN networks and own addresses, which a ban must not cover unless forced. */
  readonly network?: () => NetworkContext;
}

/** Said after every refusal the admin can override. */
const FORCE_HINT = 'add --force if you mean it';
/** `force` as a JSON field (boolean) or a query parameter ("true"/"1"). */
const force = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

const direction = z.enum(DIRECTIONS);
/** The longest duration an admin may give a decision or allow entry: what the kernel holds in one timeout. */
const MAX_ADMIN_DURATION_SEC = KERNEL_TIMEOUT_CAP_SEC;

/**
 * Durations arrive as "4h", "30m", "90s" or a number of seconds. With `what`, longer than the kernel holds
 * is refused rather than clamped: the admin can be told, and a permanent decision is one without duration.
 */
function durationSchema(what?: string) {
  return z.union([z.number().positive(), z.string().min(1).max(32)]).transform((v, ctx) => {
    let sec: number;
    if (typeof v === 'number') sec = v;
    else {
      try {
        const ms = parseDuration(v);
        if (ms <= 0) throw new Error('must be positive');
        sec = ms / 1000;
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `bad duration ${JSON.stringify(v)}: ${(e as Error).message}` });
        return z.NEVER;
      }
    }
    if (what !== undefined && !(sec <= MAX_ADMIN_DURATION_SEC)) {
      const shown = typeof v === 'number' ? `${v} (seconds)` : JSON.stringify(v);
      ctx.addIssue({
        code: 'custom',
        message: `duration ${shown} is longer than the longest supported, ${MAX_ADMIN_DURATION_SEC / 86_400}d; omit the duration for ${what} that never expires`,
      });
      return z.NEVER;
    }
    return sec;
  });
}
const duration = durationSchema();
const decisionDuration = durationSchema('a decision');

const addBody = z
  .object({
    value: z.string().min(1).max(64),
    direction: direction.optional(),
    duration: decisionDuration.optional(),
    reason: z.string().max(512).optional(),
    scenario: z.string().max(256).optional(),
    origin: z.string().min(1).max(128).optional(),
    force: force.optional(),
  })
  .strict();

const importQuery = z
  .object({
    direction: direction.optional(),
    duration: decisionDuration.optional(),
    reason: z.string().max(512).optional(),
    origin: z.string().min(1).max(128).optional(),
    scenario: z.string().max(256).optional(),
    force: force.optional(),
  })
  .strict();

const listQuery = z
  .object({
    origin: z.string().optional(),
    value: z.string().optional(),
    scope: z.enum(['ip', 'range']).optional(),
    direction: direction.optional(),
    limit: z.coerce.number().int().positive().max(1_000_000).optional(),
  })
  .strict();

const deleteQuery = z.object({ value: z.string().optional(), origin: z.string().optional(), scenario: z.string().optional() }).strict();

const allowBody = z
  .object({ value: z.string().min(1).max(64), reason: z.string().max(512).optional(), duration: durationSchema('an allow entry').optional(), force: force.optional() })
  .strict();

const blocksQuery = z
  .object({
    direction: z.enum(['inbound', 'outbound']).optional(),
    since: duration.optional(),
    client: z.string().max(64).optional(),
    remote: z.string().max(64).optional(),
    limit: z.coerce.number().int().positive().max(100_000).optional(),
    fresh: force.optional(),
    before: z
      .string()
      .regex(/^\d{1,16}:\d{1,16}$/, 'expected the `next` of the page before (LASTSEEN:ID)')
      .transform((v) => {
        const [lastSeen, id] = v.split(':').map(Number) as [number, number];
        return { lastSeen, id };
      })
      .optional(),
  })
  .strict();

const summaryQuery = z.object({ since: duration.optional(), top: z.coerce.number().int().min(1).max(100).optional(), fresh: force.optional() }).strict();
const blockClientsQuery = z.object({ since: duration.optional(), fresh: force.optional() }).strict();

/** Compile-time check: every request the contract describes is one these schemas take (`T` must fit the input). */
type Takes<S extends z.ZodType, T extends z.input<S>> = [S, T];
type ContractFits = [
  Takes<typeof addBody, Api.AddDecisionRequest>,
  Takes<typeof importQuery, Api.ImportQuery>,
  Takes<typeof listQuery, Api.DecisionListQuery>,
  Takes<typeof deleteQuery, Api.DeleteDecisionsQuery>,
  Takes<typeof allowBody, Api.AddAllowRequest>,
  Takes<typeof blocksQuery, Api.BlocksQuery>,
  Takes<typeof summaryQuery, Api.BlockSummaryQuery>,
  Takes<typeof blockClientsQuery, Api.BlockClientsQuery>,
];

function parse<T>(schema: z.ZodType<T>, data: unknown, where: string): T {
  const r = schema.safeParse(data ?? {});
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`).join('; ');
    throw new BadRequest(`${where}: ${msg}`);
  }
  return r.data;
}

const statusQuery = z.object({ reset_event_loop: force.optional() });

/** The admin API: every CLI verb and the dashboard are clients of these routes. */
export function adminRoutes(deps: AdminDeps) {
  return async function register(app: FastifyInstance): Promise<void> {
    const { decisions } = deps;

    route(app, 'GET /v1/status', async (req) => {
      const { reset_event_loop: reset } = parse(statusQuery, req.query, 'query');
      // Counted before the status is read: a reset of the event-loop window then leaves out this request's own scan.
      const counts = { decisions: decisions.count(), allow: decisions.listAllow().length };
      return { ok: true as const, ...deps.status({ resetEventLoop: reset ?? false }), ...counts };
    });

    route(app, 'GET /v1/decisions', async (req) => {
      const q = parse(listQuery, req.query, 'query');
      return { decisions: decisions.list(q) };
    });

    route(app, 'POST /v1/decisions', async (req, reply) => {
      const b = parse(addBody, req.body, 'body');
      const why = b.force ? undefined : banRefusal(parseTarget(b.value), deps.network?.() ?? NO_NETWORKS);
      if (why !== undefined) throw new BadRequest(`${why}; ${FORCE_HINT}`);
      const d = decisions.add({
        value: b.value,
        origin: b.origin ?? 'manual',
        direction: b.direction,
        durationSec: b.duration,
        reason: b.reason,
        scenario: b.scenario,
      });
      await deps.enforced();
      const allowed = decisions.allowCovering(d.value);
      reply.code(201);
      return { decision: d, allowedBy: allowed };
    });

    route(app, 'POST /v1/decisions/import', async (req) => {
      const q = parse(importQuery, req.query, 'query');
      if (typeof req.body !== 'string') throw new BadRequest('send the list as text/plain');
      const skips: ImportSkips = { skipped: 0, skippedSamples: [] };
      const origin = q.origin ?? 'manual';
      const lines = iterateImportText(req.body, skips);
      // Chunks, each one transaction: memory stays bounded for a million lines, and each chunk's addresses go
      // to the kernel (preload, nft on the other core) while SQLite writes the same chunk.
      const direction = q.direction ?? 'both';
      const net = deps.network?.() ?? NO_NETWORKS;
      let refused = 0;
      const items = (function* (): Generator<NewDecision> {
        for (const it of lines) {
          const why = q.force ? undefined : banRefusal(it.target, net);
          if (why !== undefined) {
            refused++;
            skips.skipped++;
            if (skips.skippedSamples.length < 10) skips.skippedSamples.push({ line: it.line, text: it.value, why: `${why}; ${FORCE_HINT}` });
            continue;
          }
          yield {
            value: it.value,
            target: it.target,
            origin,
            direction,
            durationSec: q.duration,
            reason: q.reason ?? it.comment ?? 'imported',
            scenario: q.scenario ?? 'import',
          };
        }
      })();
      const { preload, discardPreload, waitForKernel } = deps;
      const r = await addInChunks({ decisions, preload, discardPreload, waitForKernel }, items);
      await deps.enforced();
      return {
        added: r.added,
        updated: r.updated,
        skipped: r.skipped + skips.skipped,
        refused,
        skippedSamples: [...skips.skippedSamples, ...r.skippedSamples].slice(0, 10),
      };
    }, { bodyLimit: 512 * 1024 * 1024 });

    route(app, 'DELETE /v1/decisions/:id', async (req) => {
      const id = Number((req.params as { id: string }).id);
      if (!Number.isInteger(id) || id <= 0) throw new BadRequest('decision id must be a positive integer');
      const d = decisions.delete(id);
      if (!d) throw new NotFound(`no active decision with id ${id}`);
      await deps.enforced();
      return { deleted: [d] };
    });

    route(app, 'DELETE /v1/decisions', async (req) => {
      const q = parse(deleteQuery, req.query, 'query');
      const deleted = decisions.deleteWhere(q);
      await deps.enforced();
      return { deleted };
    });

    route(app, 'GET /v1/allow', async () => ({ allow: decisions.listAllow() }));

    route(app, 'POST /v1/allow', async (req, reply) => {
      const b = parse(allowBody, req.body, 'body');
      const why = b.force ? undefined : allowRefusal(parseTarget(b.value));
      if (why !== undefined) throw new BadRequest(`${why}; ${FORCE_HINT}`);
      const a = decisions.addAllow({ value: b.value, reason: b.reason, durationSec: b.duration });
      await deps.enforced();
      reply.code(201);
      return { allow: a };
    });

    route(app, 'DELETE /v1/allow/:key', async (req) => {
      const key = (req.params as { key: string }).key;
      const a = decisions.deleteAllow(/^\d+$/.test(key) ? Number(key) : key);
      if (!a) throw new NotFound(`no allow entry ${key}`);
      await deps.enforced();
      return { deleted: a };
    });

    route(app, 'GET /v1/blocks', async (req) => {
      const q = parse(blocksQuery, req.query, 'query');
      if (q.fresh !== false) await deps.collect();
      const limit = Math.min(q.limit ?? 1000, 100_000);
      const blocks = deps.blocks.list({
        direction: q.direction,
        since: q.since !== undefined ? Date.now() - q.since * 1000 : undefined,
        client: q.client,
        remote: q.remote,
        limit,
        before: q.before,
      });
      const last = blocks.length === limit ? blocks[blocks.length - 1] : undefined;
      return { blocks, ...(last ? { next: `${last.lastSeen}:${last.id}` } : {}) };
    });

    route(app, 'GET /v1/blocks/summary', async (req) => {
      const q = parse(summaryQuery, req.query, 'query');
      if (q.fresh !== false) await deps.collect();
      return deps.blocks.summary(Date.now() - (q.since ?? 86_400) * 1000, { ...(q.top ? { top: q.top } : {}), fresh: q.fresh !== false });
    });

    route(app, 'GET /v1/blocks/clients', async (req) => {
      const q = parse(blockClientsQuery, req.query, 'query');
      if (q.fresh !== false) await deps.collect();
      return { clients: deps.blocks.clientCounts(Date.now() - (q.since ?? 86_400) * 1000) };
    });

    route(app, 'GET /v1/explain/:value', async (req) => {
      // The router has already decoded the parameter once (a second decode turned "%25" into a 500).
      const raw = (req.params as { value: string }).value;
      const t = parseTarget(raw);
      await deps.collect();
      const covering = decisions.covering(t.text);
      const allow = decisions.allowCovering(t.text);
      const blocks = t.isHost ? deps.blocks.list({ remote: t.text, limit: 100 }) : [];
      // Only a LAN address can be a client: for a remote this would walk the whole report finding nothing
      // (seconds at a million rows). Asked anyway when the LAN is not known.
      const lan = deps.network?.().lan ?? [];
      const maybeClient = t.isHost && (lan.length === 0 || lan.some((n) => covers(n.target, t)));
      const asClient = maybeClient ? deps.blocks.list({ client: t.text, limit: 100 }) : [];
      const verdict =
        allow.length > 0 ? 'allowed' : covering.length > 0 ? 'listed' : 'not listed';
      const domains = t.isHost ? deps.blocks.domainsFor(t.text) : [];
      return { value: t.text, verdict, decisions: covering, allow, blocks, asClient, domains };
    });
  };
}
