import { TallyError } from '../infra/errors.js';
import type { Counters } from '../infra/counters/counters.port.js';
import type { QuotaBudget } from './quota-budgets.js';
import { Params, type CompiledQuery, type TenantScope } from './report-compiler.js';
import type { SqlDialect } from './sql-dialect.js';
import type { PropertyQuota } from './report-response.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Windows are charged after the work, so a take never refuses: the check is before the work. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/** The work one report did: what its token cost is computed from. */
export interface ReportWork {
  /** Warehouse rows (events) in the report's date ranges for the property, or realtime events read. */
  rowsScanned: number;
  /** Answered from a result cache (report-speed's): costs the minimum. */
  cached?: boolean;
}

/** Rows of work per token: a 10M-event property's month costs 101 tokens, a small site's report 1. */
export const ROWS_PER_TOKEN = 100_000;

/** Tokens a report costs: one, plus one per ROWS_PER_TOKEN rows scanned; a cached answer one. */
export function tokensFor(work: ReportWork, rowsPerToken = ROWS_PER_TOKEN): number {
  if (work.cached) return 1;
  return 1 + Math.floor(Math.max(0, work.rowsScanned) / rowsPerToken);
}

export interface QuotaScope {
  propertyId: string;
  /** The caller ("project" in GA4's buckets): a hash of the read key, or the member's id. */
  caller: string;
  budget: QuotaBudget;
}

/**
 * GA4's property quota, enforced: before a report runs, a property whose daily or hourly tokens,
 * or a caller whose hourly tokens on the property, are used up gets 429 RESOURCE_EXHAUSTED (GA4:
 * "if any quota is exhausted, all requests to the property return RESOURCE_EXHAUSTED"); after
 * it, its cost is charged. Counted on the `Counters` port: in memory, or in Redis when set, so
 * every api process shares the budget. Fixed UTC hour and day windows.
 */
export class PropertyQuotaMeter {
  constructor(private readonly counters: Counters) {}

  async admit(scope: QuotaScope): Promise<void> {
    const [day, hour, caller] = await Promise.all([
      this.counters.peek(dayKey(scope), DAY),
      this.counters.peek(hourKey(scope), HOUR),
      this.counters.peek(callerKey(scope), HOUR),
    ]);
    const now = Date.now();
    const refuse = (what: string, windowMs: number) =>
      new TallyError('quota_exceeded', `Exhausted ${what}.`, { reason: 'report_quota_exhausted', retryAfterMs: windowMs - (now % windowMs) });
    if (day >= scope.budget.tokensPerDay) throw refuse('property tokens per day', DAY);
    if (hour >= scope.budget.tokensPerHour) throw refuse('property tokens per hour', HOUR);
    if (caller >= scope.budget.tokensPerProjectPerHour) throw refuse('property tokens per hour for a project per property', HOUR);
  }

  /** Charges `tokens` and returns what `propertyQuota` reports: consumed by this request, remaining after it. */
  async charge(scope: QuotaScope, tokens: number): Promise<PropertyQuota> {
    await Promise.all([
      this.counters.take(dayKey(scope), tokens, UNBOUNDED, DAY),
      this.counters.take(hourKey(scope), tokens, UNBOUNDED, HOUR),
      this.counters.take(callerKey(scope), tokens, UNBOUNDED, HOUR),
    ]);
    const [day, hour, caller] = await Promise.all([
      this.counters.peek(dayKey(scope), DAY),
      this.counters.peek(hourKey(scope), HOUR),
      this.counters.peek(callerKey(scope), HOUR),
    ]);
    const b = scope.budget;
    const status = (consumed: number, limit: number, used: number) => ({ consumed, remaining: Math.max(0, limit - used) });
    return {
      tokensPerDay: status(tokens, b.tokensPerDay, day),
      tokensPerHour: status(tokens, b.tokensPerHour, hour),
      concurrentRequests: status(0, b.concurrentRequests, 0),
      serverErrorsPerProjectPerHour: status(0, b.serverErrorsPerProjectPerHour, 0),
      potentiallyThresholdedRequestsPerHour: status(0, b.potentiallyThresholdedRequestsPerHour, 0),
      tokensPerProjectPerHour: status(tokens, b.tokensPerProjectPerHour, caller),
    };
  }
}

const dayKey = (s: QuotaScope) => `rq:d:${s.propertyId}`;
const hourKey = (s: QuotaScope) => `rq:h:${s.propertyId}`;
const callerKey = (s: QuotaScope) => `rq:c:${s.propertyId}:${s.caller}`;

/**
 * The events a report reads: the property's (non-bot) events in each of its date ranges, summed
 * over the ranges (each range is scanned). The unit its quota cost is measured in.
 */
export function compileScanCount(ranges: readonly { startDate: string; endDate: string }[], scope: TenantScope, d: SqlDialect): CompiledQuery {
  const p = new Params(d);
  const tenant = p.add(scope.tenantId, 'text');
  const property = p.add(scope.propertyId, 'text');
  const parts = ranges.map(
    (r) =>
      `(SELECT COUNT(*) FROM events e WHERE e.tenant_id = ${tenant} AND e.property_id = ${property} AND e.is_bot IS NOT TRUE ` +
      `AND e.local_date BETWEEN ${p.add(r.startDate, 'date')} AND ${p.add(r.endDate, 'date')})`,
  );
  return { sql: `SELECT ${parts.join(' + ')} AS scanned`, params: p.values };
}
