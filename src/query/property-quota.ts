import type { PropertyQuota } from './report-response.js';

/** Standard-property limits (GA4-DEFINITIONS §C.16). */
const LIMITS = {
  tokensPerDay: 200_000,
  tokensPerHour: 40_000,
  concurrentRequests: 10,
  serverErrorsPerProjectPerHour: 10,
  potentiallyThresholdedRequestsPerHour: 120,
  tokensPerProjectPerHour: 14_000,
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Token accounting reported in `propertyQuota` when a request asks for it. In memory and per
 * process: it reports, it does not enforce (the tenancy module's quotas do that).
 */
export class PropertyQuotaMeter {
  private readonly used = new Map<string, { hour: number; hourTokens: number; day: number; dayTokens: number }>();

  /** Tokens a report costs: one, plus one per thousand rows scanned into the answer. */
  static tokensFor(rowCount: number): number {
    return 1 + Math.floor(rowCount / 1000);
  }

  charge(propertyId: string, tokens: number, now = Date.now()): PropertyQuota {
    const hour = Math.floor(now / HOUR);
    const day = Math.floor(now / DAY);
    let u = this.used.get(propertyId);
    if (!u) this.used.set(propertyId, (u = { hour, hourTokens: 0, day, dayTokens: 0 }));
    if (u.hour !== hour) Object.assign(u, { hour, hourTokens: 0 });
    if (u.day !== day) Object.assign(u, { day, dayTokens: 0 });
    u.hourTokens += tokens;
    u.dayTokens += tokens;
    // consumed: by this request; remaining: what the window has left after it
    const status = (consumed: number, limit: number, used: number) => ({ consumed, remaining: Math.max(0, limit - used) });
    return {
      tokensPerDay: status(tokens, LIMITS.tokensPerDay, u.dayTokens),
      tokensPerHour: status(tokens, LIMITS.tokensPerHour, u.hourTokens),
      concurrentRequests: status(0, LIMITS.concurrentRequests, 0),
      serverErrorsPerProjectPerHour: status(0, LIMITS.serverErrorsPerProjectPerHour, 0),
      potentiallyThresholdedRequestsPerHour: status(0, LIMITS.potentiallyThresholdedRequestsPerHour, 0),
      tokensPerProjectPerHour: status(tokens, LIMITS.tokensPerProjectPerHour, u.hourTokens),
    };
  }
}
