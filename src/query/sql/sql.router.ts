import { createHash } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { TallyError } from '../../infra/errors.js';
import { sendErrorBody } from '../../infra/error-body.js';
import type { Counters } from '../../infra/counters/counters.port.js';
import type { SqlParser } from '../../infra/sql/sql-parser.port.js';
import { SANDBOX_VIEWS, type SandboxScope, type Warehouse } from '../../infra/warehouse/warehouse.port.js';
import { bearerToken } from '../report.router.js';
import { ReportScheduler, type ReportSchedulerLimits } from '../report-scheduler.js';
import { checkTenantStatement } from './sql-guard.js';
import { ARROW_STREAM, formatFor, toArrow, toCsv } from './sql-output.js';
import { SqlRequestSchema } from './sql.api.js';

export interface SqlLimits extends ReportSchedulerLimits {
  maxRows: number;
  timeoutMs: number;
  requestsPerKeyPerMinute: number;
}

export interface SqlRouterDeps {
  warehouse: Warehouse;
  parser: SqlParser;
  /** The property a request may read: its read key's (or `propertyId`, checked), or a member's with a session. */
  authorize: (token: string | null, propertyId: string | null, req: Request) => Promise<SandboxScope>;
  counters?: Counters;
  limits: SqlLimits;
  logError?: (err: unknown) => void;
}

/**
 * `POST /v1/sql`: one SELECT over the caller's property. The statement is parsed by the SqlParser
 * port and checked (`sql-guard.ts`) before any warehouse sees it; what runs is the parse tree
 * printed back (canonical SQL), inside views scoped to the property (and, on PostgreSQL, under
 * row-level security as the `tally_sql` role). Bounded by rows, time, a rate per key and the
 * same per-tenant fair queue as reports.
 */
export function createSqlRouter(deps: SqlRouterDeps): express.Router {
  const router = express.Router();
  const scheduler = new ReportScheduler({ concurrency: deps.limits.concurrency, perTenant: deps.limits.perTenant, queuePerTenant: deps.limits.queuePerTenant });
  router.post('/v1/sql', express.json({ limit: '256kb', type: () => true }), async (req: Request, res: Response) => {
    try {
      const parsed = SqlRequestSchema.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new TallyError('invalid_argument', `${issue.path.join('.') || 'body'}: ${issue.message}`, { reason: 'invalid_request' });
      }
      const body = parsed.data;
      const token = bearerToken(req);
      const scope = await deps.authorize(token, body.propertyId ?? null, req);
      await admit(deps, token ?? `tenant:${scope.tenantId}`);
      if (!deps.warehouse.sandboxQuery) {
        throw new TallyError('unimplemented', `SQL is not available on the ${deps.warehouse.dialect} warehouse.`, { reason: 'sql_unsupported_warehouse' });
      }
      const tree = await deps.parser.parse(body.query);
      if (!tree.ok) throw new TallyError('invalid_argument', `Only a single SELECT statement is allowed: ${tree.message}`, { reason: 'sql_parse' });
      checkTenantStatement(tree.statements, SANDBOX_VIEWS);
      const maxRows = Math.min(body.maxRows ?? deps.limits.maxRows, deps.limits.maxRows);
      const deadline = Date.now() + deps.limits.timeoutMs;
      const result = await scheduler.run(
        scope.tenantId,
        () => deps.warehouse.sandboxQuery!(scope, tree.canonical, { maxRows, timeoutMs: Math.max(1, deadline - Date.now()) }),
        deadline,
      );
      res.setHeader('X-Tally-Truncated', String(result.truncated));
      const format = formatFor(req.get('accept'));
      if (format === 'csv') return void res.type('text/csv; charset=utf-8').send(toCsv(result));
      if (format === 'arrow') return void res.type(ARROW_STREAM).send(Buffer.from(toArrow(result)));
      res.json({ columns: result.columns, rows: result.rows, rowCount: result.rows.length, truncated: result.truncated, propertyId: scope.propertyId });
    } catch (err) {
      if (sendErrorBody(res, err).unexpected) deps.logError?.(err);
    }
  });
  return router;
}

async function admit(deps: SqlRouterDeps, who: string): Promise<void> {
  if (!deps.counters) return;
  const key = `sql:${createHash('sha256').update(who).digest('hex').slice(0, 32)}`;
  const r = await deps.counters.take(key, 1, deps.limits.requestsPerKeyPerMinute, 60_000);
  if (!r.allowed) {
    throw new TallyError('rate_limited', `Exhausted SQL statements per minute for this key (${deps.limits.requestsPerKeyPerMinute}).`, {
      reason: 'sql_rate_limited',
      retryAfterMs: r.retryAfterMs,
    });
  }
}
