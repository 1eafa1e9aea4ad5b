import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { CustomDefinition } from '../domain/custom-definition.js';
import type { PropertySettings } from '../domain/property-settings.js';
import { TallyError } from '../infra/errors.js';
import type { Counters } from '../infra/counters/counters.port.js';
import { metrics } from '../infra/metrics/metrics.js';
import type { RegexSyntax } from '../infra/regex/regex-syntax.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import { activeCustomNames, checkCustomFields } from './custom-fields.js';
import { filterFields } from './report-filter-sql.js';
import { unknownDimensionError } from './report-request.limits.js';
import { sendGoogleError } from './google-error.js';
import { buildMetadata } from './metadata.js';
import { compileScanCount, PropertyQuotaMeter, tokensFor, type QuotaScope, type ReportWork } from './property-quota.js';
import { budgetsForPlan } from './quota-budgets.js';
import { checkCompatibility } from './compatibility.js';
import { parseRealtimeRequest, runRealtimeReport, type RunRealtimeReportResponse } from './realtime-report.js';
import type { RealtimeEvent } from './realtime-window.js';
import type { CompiledQuery } from './report-compiler.js';
import { compileCohortReport, parseCohortRequest, shapeCohortResponse } from './cohort-report.js';
import { MAX_REPORT_DATE, MIN_REPORT_DATE } from './date-ranges.js';
import { dialectFor } from './sql-dialect.js';
import { invalid, list, object, readJsonBody } from './proto-json.js';
import { checkRegexSyntax, type ReportFilters } from './report-filter.js';
import { parseRunReportRequest, type ReportRequest } from './report-request.js';
import { compileFunnel } from './funnel-compiler.js';
import { asFilterExpr, parseFunnelRequest } from './funnel-request.js';
import { shapeFunnelResponse, type RunFunnelReportResponse } from './funnel-report.js';
import { parsePivotRequest, pivotQueries, shapePivotResponse, type RunPivotReportResponse } from './pivot-report.js';
import { ReportScheduler, type ReportSchedulerLimits } from './report-scheduler.js';
import type { PropertyQuota, RunReportResponse } from './report-response.js';
import { ReportCache } from './report-cache.js';
import { runReport, type ReportStats } from './report.service.js';

export interface ReportRouterDeps {
  warehouse: Warehouse;
  /** Throws TallyError('unauthenticated' | 'permission_denied' | 'not_found'). */
  authorize: (bearerToken: string | null, propertyId: string, req?: Request) => Promise<PropertySettings & { planId?: string }>;
  /** Where 5xx errors are reported before being masked. */
  logError?: (err: unknown) => void;
  now?: () => Date;
  /** Every event of the property acknowledged before this instant is in the warehouse. */
  completeUpTo?: (propertyId: string) => Promise<Date | null>;
  /** The property's last partition load (any process, any cause); part of the result cache's key. */
  loadVersion?: (propertyId: string) => Promise<string | null>;
  /** The last refresh of the warehouse's currency rates; part of the key of statements that convert money. */
  ratesVersion?: () => Promise<string | null>;
  /** RE2 syntax check of FULL_REGEXP / PARTIAL_REGEXP patterns before any query runs. */
  regexSyntax?: RegexSyntax;
  /** Where report requests per key per minute are counted (Redis: shared by every api process). */
  counters?: Counters;
  limits?: Partial<ReportLimits>;
  /** The last 30 minutes of the event log, per property (runRealtimeReport); without it: 501. */
  realtime?: RealtimeSource;
  /**
   * Billing's gate of the plan's `realtime` feature, run before runRealtimeReport reads anything
   * (throws 403 `plan_feature_unavailable`); without it realtime is not gated.
   */
  realtimeGate?: (tenantId: string) => Promise<void>;
  /** Rows scanned per report token (default ROWS_PER_TOKEN). */
  rowsPerToken?: number;
  /** The process's report result cache (default: a new one per router). Never holds realtime answers. */
  cache?: ReportCache;
  /** A notice of the organisation's billing (over quota, payment failed) for the response's `metadata.tallyNotice`, or null. */
  notice?: (tenantId: string) => Promise<string | null>;
  /** The property's custom definitions (archived ones included); none when absent. */
  customDefinitions?: (settings: PropertySettings) => Promise<CustomDefinition[]>;
}

/** Where realtime reports read: the live events of one property (the event log's tail). */
export interface RealtimeSource {
  events(tenantId: string, propertyId: string, now?: number): readonly RealtimeEvent[];
}

/** What a method's warehouse work gets: the completeness mark, the deadline, a query runner, and the scan meter. */
interface WarehouseJob {
  completeUpTo: Date | null;
  loadVersion: string | null;
  ratesVersion: string | null;
  deadline: number;
  query(q: CompiledQuery): Promise<Record<string, unknown>[]>;
  /** Counts the property's events in these ranges as scanned (the quota's unit). */
  scanned(ranges: readonly { startDate: string; endDate: string }[]): Promise<void>;
  /** What the work costs: rows scanned, and whether every statement came from the result cache. */
  work: ReportWork;
}

type Caller = { settings: PropertySettings & { planId?: string }; scope: QuotaScope };

export interface ReportLimits extends ReportSchedulerLimits {
  /** Each report's deadline, queueing included: its statements are cancelled past it. */
  timeoutMs: number;
  /** Report requests (runReport, each report of a batch, metadata, checkCompatibility) per key per minute. */
  requestsPerKeyPerMinute: number;
}

export const DEFAULT_REPORT_LIMITS: ReportLimits = {
  timeoutMs: 10_000,
  concurrency: 3,
  // one: on a small machine two heavy reports of one tenant already take every core
  perTenant: 1,
  queuePerTenant: 10,
  requestsPerKeyPerMinute: 600,
};

const MAX_BATCH = 5;

/**
 * The GA4 Data API v1beta surface: `POST /v1beta/properties/{id}:runReport | :batchRunReports |
 * :checkCompatibility` and `GET /v1beta/properties/{id}/metadata`. Mounted at '/'.
 */
export function createReportRouter(deps: ReportRouterDeps): express.Router {
  const router = express.Router();
  // enforced on the shared counters when there are some; otherwise only reported, per request
  const quota = deps.counters ? new PropertyQuotaMeter(deps.counters) : null;
  const now = deps.now ?? (() => new Date());
  const limits: ReportLimits = { ...DEFAULT_REPORT_LIMITS, ...deps.limits };
  const scheduler = new ReportScheduler(limits);
  const cache = deps.cache ?? new ReportCache();

  /** Counts one request against the key's minute; over the limit: 429 RESOURCE_EXHAUSTED, Retry-After. */
  const admit = async (token: string | null, n = 1): Promise<void> => {
    if (!deps.counters || !token) return;
    const key = `report:${createHash('sha256').update(token).digest('hex').slice(0, 32)}`;
    const r = await deps.counters.take(key, n, limits.requestsPerKeyPerMinute, 60_000);
    if (!r.allowed) {
      throw new TallyError('rate_limited', `Exhausted report requests per minute for this key (${limits.requestsPerKeyPerMinute}).`, {
        reason: 'report_rate_limited',
        retryAfterMs: r.retryAfterMs,
      });
    }
  };
  // Google's clients do not always send application/json; read any body as JSON.
  const body = express.raw({ type: () => true, limit: '1mb' });

  const handle =
    (fn: (req: Request, res: Response) => Promise<unknown>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        res.json(await fn(req, res));
      } catch (err) {
        sendGoogleError(res, err, deps.logError);
      }
    };

  const customDefinitions = async (settings: PropertySettings) => (await deps.customDefinitions?.(settings)) ?? [];

  /** Reports the request's token cost in `propertyQuota` (charged either way). */
  const charge = async (c: Caller, work: ReportWork): Promise<PropertyQuota> => {
    const tokens = tokensFor(work, deps.rowsPerToken);
    if (quota) return quota.charge(c.scope, tokens);
    const b = c.scope.budget;
    const left = (limit: number) => ({ consumed: tokens, remaining: Math.max(0, limit - tokens) });
    return {
      tokensPerDay: left(b.tokensPerDay),
      tokensPerHour: left(b.tokensPerHour),
      concurrentRequests: { consumed: 0, remaining: b.concurrentRequests },
      serverErrorsPerProjectPerHour: { consumed: 0, remaining: b.serverErrorsPerProjectPerHour },
      potentiallyThresholdedRequestsPerHour: { consumed: 0, remaining: b.potentiallyThresholdedRequestsPerHour },
      tokensPerProjectPerHour: left(b.tokensPerProjectPerHour),
    };
  };

  /**
   * Runs one method's warehouse work for a caller: regex syntax checked, quota admitted, in the
   * tenant's scheduler slot under the deadline; charged by the events it scanned.
   */
  const execute = async <T>(c: Caller, filters: ReportFilters[], job: (w: WarehouseJob) => Promise<T>) => {
    const { settings } = c;
    const deadline = Date.now() + limits.timeoutMs;
    for (const f of filters) if (deps.regexSyntax) await checkRegexSyntax(f, deps.regexSyntax);
    await quota?.admit(c.scope);
    const work: ReportWork = { rowsScanned: 0 };
    const result = await scheduler.run(
      settings.tenantId,
      async () => {
        // read before the report's queries: a load finishing in between only adds to the numbers
        const [completeUpTo, loadVersion, ratesVersion] = await Promise.all([
          deps.completeUpTo?.(settings.propertyId),
          deps.loadVersion?.(settings.propertyId),
          deps.ratesVersion?.(),
        ]);
        const query = async (q: CompiledQuery) => {
          const timeoutMs = deadline - Date.now();
          if (timeoutMs <= 0) throw new TallyError('deadline_exceeded', 'The report ran past its deadline.', { reason: 'statement_timeout' });
          return deps.warehouse.query<Record<string, unknown>>(q.sql, q.params, { timeoutMs });
        };
        const scanned = async (ranges: readonly { startDate: string; endDate: string }[]) => {
          const [row] = await query(compileScanCount(ranges, settings, dialectFor(deps.warehouse.dialect)));
          work.rowsScanned += Number(row?.scanned ?? 0);
        };
        return job({
          completeUpTo: completeUpTo ?? null,
          loadVersion: loadVersion ?? null,
          ratesVersion: ratesVersion ?? null,
          deadline,
          query,
          scanned,
          work,
        });
      },
      deadline,
    );
    return { result, charged: await charge(c, work) };
  };

  /** What a cached statement is keyed on; none without a "complete up to" mark (nothing is cached). */
  const cacheVersion = (w: WarehouseJob) =>
    w.completeUpTo ? { completeUpTo: w.completeUpTo, loadVersion: w.loadVersion, ratesVersion: w.ratesVersion } : null;

  /**
   * runReport's requests (one, or a pivot's cells and per-pivot headers) through the result cache,
   * keyed by each compiled statement: comparisons and pivots compile to their own statements, so
   * they key apart. A request answered wholly from the cache scans nothing; all cached: 1 token.
   */
  const reports = async (c: Caller, requests: ReportRequest[], enumAsInt: boolean) => {
    // custom fields are read per request: a definition made or archived a moment ago counts at once
    const definitions = await customDefinitions(c.settings);
    for (const request of requests) checkCustomFields(request, definitions);
    return execute(c, requests, async (w) => {
      const out: RunReportResponse[] = [];
      let allCached = true;
      for (const request of requests) {
        const stats: ReportStats = { cached: false, path: 'detail', tables: [] };
        const opts = { enumAsInt, completeUpTo: w.completeUpTo, loadVersion: w.loadVersion, ratesVersion: w.ratesVersion, deadline: w.deadline, cache, stats };
        out.push(await runReport(deps.warehouse, c.settings, request, opts));
        metrics.reportAnswer(stats.path, stats.cached);
        if (!stats.cached) await w.scanned(request.dateRanges);
        allCached &&= stats.cached;
      }
      w.work.cached = allCached;
      return out;
    });
  };

  /** Billing's notice in `metadata.tallyNotice`, read after the cache (never kept in it). */
  const withNotice = async <T extends { metadata: RunReportResponse['metadata'] }>(c: Caller, response: T): Promise<T> => {
    const notice = await deps.notice?.(c.settings.tenantId);
    return notice ? { ...response, metadata: { ...response.metadata, tallyNotice: notice } } : response;
  };

  const run = async (c: Caller, raw: unknown, enumAsInt: boolean): Promise<RunReportResponse> => {
    const ctx = { timeZone: c.settings.timeZone, now: now() };
    if (hasCohortSpec(raw)) {
      const request = parseCohortRequest(raw, ctx);
      const { result, charged } = await execute(c, [], async (w) => {
        const q = compileCohortReport(request, c.settings, dialectFor(deps.warehouse.dialect));
        // through the cache like any statement: a load of any day (first-session dates can move) moves the load version
        const { rows, hit } = await cache.through(c.settings, cacheVersion(w), q, () => w.query(q));
        // a cohort reads every event of the property (first-session dates)
        if (hit) w.work.cached = true;
        else await w.scanned([{ startDate: MIN_REPORT_DATE, endDate: MAX_REPORT_DATE }]);
        return shapeCohortResponse(request, rows, c.settings, { enumAsInt, completeUpTo: w.completeUpTo });
      });
      const response = await withNotice(c, result);
      return request.returnPropertyQuota ? withQuota(response, charged) : response;
    }
    const request = parseRunReportRequest(raw, ctx);
    const { result, charged } = await reports(c, [request], enumAsInt);
    const response = await withNotice(c, result[0]);
    return request.returnPropertyQuota ? withQuota(response, charged) : response;
  };

  const pivot = async (c: Caller, raw: unknown, enumAsInt: boolean): Promise<RunPivotReportResponse> => {
    const request = parsePivotRequest(raw, { timeZone: c.settings.timeZone, now: now() });
    const { cells, perPivot } = pivotQueries(request);
    const { result, charged } = await reports(c, [cells, ...perPivot], enumAsInt);
    const response = await withNotice(c, shapePivotResponse(request, result[0], result.slice(1)));
    return request.returnPropertyQuota ? withQuota(response, charged) : response;
  };

  const realtime = async (c: Caller, raw: unknown, enumAsInt: boolean): Promise<RunRealtimeReportResponse> => {
    if (!deps.realtime)
      throw new TallyError('unimplemented', 'Method runRealtimeReport is not available in this process (no event log tail).', { reason: 'unimplemented' });
    // the plan's `realtime` feature (billing); read from the event log's tail, never the result cache
    await deps.realtimeGate?.(c.settings.tenantId);
    const request = parseRealtimeRequest(raw);
    if (deps.regexSyntax) await checkRegexSyntax(request, deps.regexSyntax);
    await quota?.admit(c.scope);
    const at = now().getTime();
    const events = deps.realtime.events(c.settings.tenantId, c.settings.propertyId, at);
    const { response, scanned } = runRealtimeReport(events, c.settings, request, { now: at, enumAsInt });
    const charged = await charge(c, { rowsScanned: scanned });
    return request.returnPropertyQuota ? withQuota(response, charged) : response;
  };

  /**
   * runFunnelReport (v1alpha): one statement, through the result cache as runReport's are (keyed by
   * its SQL and parameters, the mark and the load version); charged by the events of its date
   * ranges, or the minimum when answered from the cache.
   */
  const funnel = async (c: Caller, raw: unknown, enumAsInt: boolean): Promise<RunFunnelReportResponse> => {
    const request = parseFunnelRequest(raw, { timeZone: c.settings.timeZone, now: now() });
    const stepFilters = request.steps.map((s) => ({ dimensionFilter: asFilterExpr(s.filter) }));
    // custom dimensions only while the property has them defined
    const active = activeCustomNames(await customDefinitions(c.settings));
    const names = [request.dimensionFilter, ...stepFilters.map((f) => f.dimensionFilter)].flatMap((f) => (f ? filterFields(f) : []));
    for (const name of [...names, request.breakdown?.dimension, request.nextAction?.dimension]) {
      if (name && !active.dimension(name)) throw unknownDimensionError(name);
    }
    const { result, charged } = await execute(c, [{ dimensionFilter: request.dimensionFilter }, ...stepFilters], async (w) => {
      const q = compileFunnel(request, c.settings, dialectFor(deps.warehouse.dialect));
      const { rows, hit } = await cache.through(c.settings, cacheVersion(w), q, () => w.query(q));
      if (hit) w.work.cached = true;
      else await w.scanned(request.dateRanges);
      return shapeFunnelResponse(request, rows, { enumAsInt });
    });
    return request.returnPropertyQuota ? withQuota(result, charged) : result;
  };

  const METHODS = ['runReport', 'batchRunReports', 'checkCompatibility', 'runRealtimeReport', 'runPivotReport', 'batchRunPivotReports'];
  // Express path params stop at '/', so ':rest' is "123:runReport"; the method follows the last ':'.
  const split = (req: Request) => {
    const rest = String(req.params.rest);
    const colon = rest.lastIndexOf(':');
    return colon > 0 ? { propertyId: rest.slice(0, colon), method: rest.slice(colon + 1) } : { propertyId: rest, method: '' };
  };
  /** The caller of a `properties/{id}:method` request: authorized, rate-admitted, its body read. */
  const callerOf = async (req: Request, reports = (_json: unknown) => 1) => {
    const { propertyId, method } = split(req);
    const token = bearerToken(req);
    const settings = await deps.authorize(token, propertyId, req);
    const c: Caller = { settings, scope: { propertyId, caller: callerKey(req, token), budget: budgetsForPlan(settings.planId) } };
    const json = readJsonBody(req.body);
    await admit(token, reports(json));
    checkPropertyField(json, propertyId);
    return { c, json, method, propertyId, asInt: enumAsInt(req) };
  };
  router.post(
    '/v1beta/properties/:rest',
    // other methods (runRealtimeReport, pivots) belong to other routers: leave their body unread
    (req: Request, _res: Response, next: NextFunction) => next(METHODS.includes(split(req).method) ? undefined : 'route'),
    body,
    handle(async (req) => {
      const { c, json, method, propertyId, asInt } = await callerOf(req, (json) => (split(req).method.startsWith('batch') ? Math.max(1, batchSize(json)) : 1));
      if (method === 'runReport') return run(c, json, asInt);
      if (method === 'batchRunReports') return batch(json, propertyId, (r) => run(c, r, asInt));
      if (method === 'runRealtimeReport') return realtime(c, json, asInt);
      if (method === 'runPivotReport') return pivot(c, json, asInt);
      if (method === 'batchRunPivotReports') {
        const pivotReports = (await batch(json, propertyId, (r) => pivot(c, r, asInt))).reports;
        return { pivotReports, kind: 'analyticsData#batchRunPivotReports' };
      }
      return checkCompatibility(json, asInt, await customDefinitions(c.settings));
    }),
  );

  // v1alpha: runFunnelReport; the other v1alpha methods fall through to the 501 of api-fallback.router.ts
  router.post(
    '/v1alpha/properties/:rest',
    (req: Request, _res: Response, next: NextFunction) => next(split(req).method === 'runFunnelReport' ? undefined : 'route'),
    body,
    handle(async (req) => {
      const { c, json, asInt } = await callerOf(req);
      return funnel(c, json, asInt);
    }),
  );

  router.get(
    '/v1beta/properties/:propertyId/metadata',
    handle(async (req) => {
      const token = bearerToken(req);
      const settings = await deps.authorize(token, String(req.params.propertyId), req);
      await admit(token);
      return buildMetadata(String(req.params.propertyId), enumAsInt(req), await customDefinitions(settings));
    }),
  );

  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    sendGoogleError(res, err, deps.logError);
  });
  return router;
}

function batchSize(json: unknown): number {
  const requests = (json as { requests?: unknown } | null)?.requests;
  return Array.isArray(requests) ? Math.min(requests.length, MAX_BATCH) : 0;
}

/** GA4's "project": the read key (hashed), or the signed-in member, or the client address. */
function callerKey(req: Request, token: string | null): string {
  if (token) return `k:${createHash('sha256').update(token).digest('hex').slice(0, 32)}`;
  const user = req.user as { id?: string } | undefined;
  return user?.id ? `u:${user.id}` : `ip:${req.ip ?? ''}`;
}

function hasCohortSpec(raw: unknown): boolean {
  const r = raw as { cohortSpec?: unknown; cohort_spec?: unknown } | null;
  return !!r && typeof r === 'object' && (r.cohortSpec != null || r.cohort_spec != null);
}

/** The read key of a request: `Authorization: Bearer <key>`, or `?access_token=` as Google's REST clients allow. */
export function bearerToken(req: Request): string | null {
  const header = req.get('authorization');
  const m = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  if (m) return m[1];
  const q = req.query.access_token;
  return typeof q === 'string' && q !== '' ? q : null;
}

/** `$alt=json;enum-encoding=int`, as Google's REST clients send it. */
function enumAsInt(req: Request): boolean {
  const alt = req.query.$alt ?? req.query.alt;
  return typeof alt === 'string' && /(^|;)\s*enum-encoding=int\s*(;|$)/.test(alt);
}

function checkPropertyField(json: unknown, propertyId: string): void {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return;
  const p = (json as Record<string, unknown>).property;
  if (p !== undefined && p !== '' && p !== `properties/${propertyId}`) {
    throw invalid(`property "${String(p)}" does not match the request path properties/${propertyId}.`, 'property');
  }
}

/** `propertyQuota` goes before `kind`, in GA4's field order. */
function withQuota<T extends { kind: string }>(response: T, propertyQuota: PropertyQuota): T {
  const { kind, ...rest } = response;
  return { ...rest, propertyQuota, kind } as unknown as T;
}

async function batch<T>(json: unknown, propertyId: string, runOne: (request: unknown) => Promise<T>): Promise<{ reports: T[]; kind: string }> {
  const requests = list(object(json, '', ['property', 'requests'] as const).requests, 'requests');
  if (requests.length > MAX_BATCH) throw invalid(`Requests are limited to ${MAX_BATCH} reports per batch.`, 'requests');
  requests.forEach((r) => checkPropertyField(r, propertyId));
  const reports: T[] = [];
  for (const r of requests) reports.push(await runOne(r));
  return { reports, kind: 'analyticsData#batchRunReports' };
}
