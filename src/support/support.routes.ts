import { z } from 'zod';
import { TallyError } from '../infra/errors.js';
import type { DeadLetterService } from './dead-letters.service.js';
import type { VisitorInspector } from './inspector.service.js';
import type { ReplayService } from './replay.service.js';
import type { SupportActor } from './support.ports.js';

/** What a support route handler gets from the management API's guard (src/server adapts tenancy's context). */
export interface SupportRouteContext {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: any;
  actor: SupportActor;
  orgId: string;
}

export interface SupportServices {
  replays: ReplayService;
  deadLetters: DeadLetterService;
  inspector: VisitorInspector;
  /** The organisation of a property (null: no such property). */
  organizationOfProperty(propertyId: string): Promise<string | null>;
}

/** One route of the support table; `access` is a permission of src/tenancy/permissions.ts. */
export interface SupportRoute {
  method: 'get' | 'post';
  path: string;
  access: 'support.read' | 'support.run';
  /** `property`: the path's :propertyId; `custom`: `orgOf` (a replay id, a property in the body). */
  scope: 'property' | 'custom';
  orgOf?: (p: { params: Record<string, string>; body: any }, s: SupportServices) => Promise<string | null>;
  body?: z.ZodType;
  query?: z.ZodType;
  summary: string;
  status?: number;
  handler: (ctx: SupportRouteContext, s: SupportServices) => Promise<unknown>;
}

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');
const propertyId = z.string().regex(/^\d{1,18}$/, 'a property id');
const reasonText = z.string().trim().min(3).max(500);
const deadLetterReason = z.string().regex(/^[a-z_]{1,40}$/, 'a dead-letter reason such as hostname_not_allowed');

export const ReplayCreate = z.strictObject({ propertyId, from: date, to: date, dryRun: z.boolean().default(true), reason: reasonText });
export const RedriveCreate = z.strictObject({ reason: deadLetterReason, from: date.optional(), to: date.optional(), note: reasonText.optional() });
const DeadLetterQuery = z.object({ reason: deadLetterReason.optional(), since: date.optional(), until: date.optional() });
const VisitorQuery = z.object({ from: date.optional(), to: date.optional(), by: z.enum(['client', 'user']).optional() });

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export const SUPPORT_ROUTES: SupportRoute[] = [
  {
    method: 'post',
    path: '/api/support/replays',
    access: 'support.run',
    scope: 'custom',
    orgOf: ({ body }, s) => s.organizationOfProperty(body.propertyId),
    body: ReplayCreate,
    status: 202,
    summary:
      "Replay a property's dates from the raw zone with its current settings and rules. dryRun (default true) stages the result and only diffs it; " +
      'a real run swaps each partition in and reloads the warehouse. Poll GET /api/support/replays/{replayId}. Audited.',
    handler: ({ body, actor }, s) => s.replays.submit(body, actor),
  },
  {
    method: 'get',
    path: '/api/properties/:propertyId/replays',
    access: 'support.read',
    scope: 'property',
    summary:
      "The property's latest replays (up to 20, newest first): state, progress and range, without their diffs (GET /api/support/replays/{replayId} has it).",
    handler: async ({ params }, s) => ({ replays: await s.replays.list(params.propertyId) }),
  },
  {
    method: 'get',
    path: '/api/support/replays/:replayId',
    access: 'support.read',
    scope: 'custom',
    orgOf: async ({ params }, s) => (await s.replays.get(params.replayId))?.organizationId ?? null,
    summary:
      'A replay: state (queued, running, succeeded, failed), progress (partitions done / total) and the diff: per day before/after, top pages, sources and channel groups.',
    handler: async ({ params }, s) => s.replays.get(params.replayId),
  },
  {
    method: 'get',
    path: '/api/properties/:propertyId/dead-letters',
    access: 'support.read',
    scope: 'property',
    query: DeadLetterQuery,
    summary:
      "The property's refused events kept in the dead-letter zone: counts by reason and up to 5 samples each (?reason, ?since, ?until: UTC dates of receipt, default 30 days).",
    handler: ({ params, query }, s) =>
      s.deadLetters.list({ propertyId: params.propertyId, reason: str(query.reason), since: str(query.since), until: str(query.until) }),
  },
  {
    method: 'post',
    path: '/api/properties/:propertyId/dead-letters/redrive',
    access: 'support.run',
    scope: 'property',
    body: RedriveCreate,
    summary:
      "Send the property's dead letters of one reason through today's ingest rules into the event log again (e.g. hostname_not_allowed after the host was allowed). " +
      'Idempotent by event id: a second redrive appends nothing. Audited.',
    handler: ({ params, body, actor }, s) => s.deadLetters.redrive({ propertyId: params.propertyId, ...body }, actor),
  },
  {
    method: 'get',
    path: '/api/support/properties/:propertyId/visitors/:visitorId',
    access: 'support.read',
    scope: 'custom',
    orgOf: ({ params }, s) => s.organizationOfProperty(params.propertyId),
    query: VisitorQuery,
    summary:
      "One visitor's raw events and dead letters beside their transformed events and sessions, each with why it was or was not counted. " +
      "Each event's `source`: `raw` (raw zone), `deadletter` (dead-letter zone) or `log` (the event log's tail, not yet archived: read up to a bound, `logTail.complete` false and a note when cut short). " +
      '{visitorId} is a client id (or a user id with ?by=user); ?from, ?to: local dates (default 7 days).',
    handler: ({ params, query }, s) => {
      if (!params.visitorId) throw new TallyError('invalid_argument', 'a visitor id', { reason: 'visitor_required' });
      const by = query.by === 'user' ? 'userId' : 'clientId';
      return s.inspector.inspect({ propertyId: params.propertyId, [by]: params.visitorId, from: str(query.from), to: str(query.to) });
    },
  },
];
