import type { DeadLetter, Protocol, RawEvent } from '../domain/raw-event.js';
import type { EventLog, LogRecordIn } from '../infra/event-log/event-log.port.js';
import type { BucketLimit, Counters } from '../infra/counters/counters.port.js';
import { TallyError } from '../infra/errors.js';
import { metrics } from '../infra/metrics/metrics.js';
import type { TenantProperty } from '../domain/tenant-property.js';
import type { QuotaObserver, QuotaThreshold, UsageRecorder } from './ingest.ports.js';
import type { ParsedEvent, RefusedEvent } from './parsed-event.js';
import type { GeoLookup } from './geo.js';
import { toRawEvent, type RequestContext } from './edge.js';
import { truncateIp } from './ip.js';
import { RawEventJson } from './raw-event-json.js';

/** Anonymous (browser) traffic of one truncated client IP on one property, by default. */
export const DEFAULT_ANONYMOUS_PER_IP: BucketLimit = { ratePerSecond: 100, burst: 1_000 };
/** Over-limit GA4 MP events kept in the dead-letter output: this many times the plan's rate and burst, then 429. */
const HARD_CAP_FACTOR = 10;

/**
 * The ingest pipeline's one use case: admit (quota, rate), enrich at the edge, append to the
 * event log, and only then let the caller answer 2xx. Refused events go to the dead-letter output
 * in the same durable append, so they are countable and replayable.
 */
export class IngestService {
  private month = { from: 0, to: 0, key: '' };
  private readonly perIp: BucketLimit;
  /** The log records' writer (JSON.stringify's text, the parts a request's events share written once). */
  private readonly json = new RawEventJson();

  /** Quota thresholds this process already reported, per organisation and month (billing keeps them once per month too). */
  private readonly reported = new Set<string>();

  constructor(
    private readonly deps: { log: EventLog; counters: Counters; geo: GeoLookup; usage?: UsageRecorder; quota?: QuotaObserver; anonymousPerIp?: BucketLimit },
  ) {
    this.perIp = deps.anonymousPerIp ?? DEFAULT_ANONYMOUS_PER_IP;
  }

  /** "YYYY-MM" (UTC) of `now`, formatted once per month rather than once per request. */
  private monthOf(now: number): string {
    if (now < this.month.from || now >= this.month.to) {
      const d = new Date(now);
      this.month = {
        from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
        to: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
        key: d.toISOString().slice(0, 7),
      };
    }
    return this.month.key;
  }

  /**
   * Rate, then quota; throws 429-mapped errors. Rate: token buckets of the plan's rate and burst,
   * one for keyed (server) traffic and one for anonymous (browser) traffic of the property, so a
   * flood on a public id never starves the property's keyed senders; anonymous traffic also has a
   * bucket per truncated client IP (`ip`), taken first so one source cannot drain the property's.
   * Quota: per organisation and UTC month. Billing never throws data away below the hard cap:
   * events past the plan's monthly events are admitted, and the answer says how many of the
   * request's last events are over it (the caller flags them `over_quota`); past the hard cap
   * (`quotaHardCap`, default twice the quota) the request is refused with `quota_exceeded`.
   */
  async admit(property: TenantProperty, n: number, now: number, keyed = true, ip: string | null = null): Promise<{ overQuota: number }> {
    const limit = limitOf(property);
    if (!keyed && ip) {
      const trunc = truncateIp(ip);
      const source = trunc ? await this.deps.counters.takeTokens(`ip:${property.propertyId}:${trunc}`, n, this.perIp) : null;
      if (source && !source.allowed) {
        throw new TallyError('rate_limited', `more than ${this.perIp.ratePerSecond} events per second from one network`, {
          retryAfterMs: source.retryAfterMs,
          reason: 'rate_limited',
        });
      }
    }
    const rate = await this.deps.counters.takeTokens(`${keyed ? 'k' : 'a'}:${property.propertyId}`, n, limit);
    if (!rate.allowed) {
      throw new TallyError('rate_limited', `more than ${property.rateLimitPerSecond} events per second (bursts up to ${limit.burst})`, {
        retryAfterMs: rate.retryAfterMs,
        reason: 'rate_limited',
      });
    }
    const month = this.monthOf(now);
    const included = property.monthlyEventQuota;
    const cap = property.quotaHardCap ?? included * 2;
    // the calendar month itself, not a fixed length: a fixed window's boundary would fall inside a month
    const quota = await this.deps.counters.take(`quota:${property.tenantId}:${month}`, n, cap, { start: this.month.from, end: this.month.to });
    if (!quota.allowed) {
      this.report(property.tenantId, month, 'cap', quota.count ?? cap, included);
      throw new TallyError('quota_exceeded', `the plan's ${included} events this month and the hard cap of ${cap} are used up; upgrade to send more`, {
        retryAfterMs: this.month.to - now,
        reason: 'quota_exceeded',
      });
    }
    if (quota.count === undefined) return { overQuota: 0 }; // counters failed open: nothing known
    const before = quota.count - n;
    if (before < included * 0.8 && quota.count >= included * 0.8) this.report(property.tenantId, month, 80, quota.count, included);
    if (before < included && quota.count >= included) this.report(property.tenantId, month, 100, quota.count, included);
    return { overQuota: Math.min(n, Math.max(0, quota.count - included)) };
  }

  private report(tenantId: string, month: string, threshold: QuotaThreshold, used: number, quota: number): void {
    const key = `${tenantId}:${month}:${threshold}`;
    if (!this.deps.quota || this.reported.has(key)) return;
    if (this.reported.size > 100_000) this.reported.clear();
    this.reported.add(key);
    this.deps.quota.crossed({ tenantId, month, threshold, used, quota });
  }

  /**
   * Whether `n` over-limit events of a sender that never retries (GA4 MP) may still be kept in the
   * dead-letter output: a bucket of ten times the plan's rate and burst, so an abusive sender
   * cannot fill the log with dead letters either.
   */
  async withinHardCap(property: TenantProperty, n: number): Promise<boolean> {
    const limit = limitOf(property);
    const cap = { ratePerSecond: limit.ratePerSecond * HARD_CAP_FACTOR, burst: limit.burst * HARD_CAP_FACTOR };
    return (await this.deps.counters.takeTokens(`cap:${property.propertyId}`, n, cap)).allowed;
  }

  /** Whether `n` keyed events would be admitted now (for `/debug/mp/collect`); takes nothing. */
  async wouldAdmit(property: TenantProperty, n: number): Promise<boolean> {
    const limit = limitOf(property);
    return (await this.deps.counters.peekTokens(`k:${property.propertyId}`, limit)) >= Math.min(n, limit.burst);
  }

  /** Appends the events (the last `overQuota` of them flagged `over_quota`) and the dead letters in one durable append. */
  async accept(
    protocol: Protocol,
    parsed: ParsedEvent[],
    refused: RefusedEvent[],
    property: TenantProperty,
    req: RequestContext,
    overQuota = 0,
  ): Promise<RawEvent[]> {
    const tenant = { tenantId: property.tenantId, propertyId: property.propertyId, internalTraffic: property.internalTraffic };
    const events: RawEvent[] = [];
    const records: LogRecordIn[] = [];
    const flagFrom = parsed.length - overQuota;
    for (let i = 0; i < parsed.length; i++) {
      const e = toRawEvent(parsed[i], tenant, req, this.deps.geo);
      if (i >= flagFrom) e.over_quota = true;
      events.push(e);
      records.push({ key: logKeyOf(e), value: Buffer.from(stringifyOrRefuse(this.json, e)) });
    }
    const started = performance.now();
    const raw = records.length ? this.deps.log.append('raw-events', records) : null;
    const dead = refused.length ? this.deadLetter(protocol, refused, property, req.receivedAt) : null;
    // both appends share one group commit; a lone one is awaited without Promise.all's extra promise
    if (raw && dead) await Promise.all([raw, dead]);
    else await (raw ?? dead);
    if (raw) {
      metrics.appendDone('raw-events', (performance.now() - started) / 1000);
      metrics.ingestEvents(protocol, 'accepted', events.length);
    }
    this.deps.usage?.record(property.tenantId, property.propertyId, req.receivedAt, events.length, refused.length);
    return events;
  }

  /**
   * A backfill (src/lifecycle's import): parsed events appended in one durable append, each
   * enriched as received at its own time (no request: no UA or IP but the payload's). Not
   * admitted against the rate (the operator runs it), counted as usage now.
   */
  async acceptAt(protocol: Protocol, items: { parsed: ParsedEvent; receivedAt: number }[], property: TenantProperty): Promise<number> {
    if (!items.length) return 0;
    const tenant = { tenantId: property.tenantId, propertyId: property.propertyId, internalTraffic: property.internalTraffic };
    const records = items.map(({ parsed, receivedAt }) => {
      const e = toRawEvent(parsed, tenant, { receivedAt, userAgent: null, ip: null }, this.deps.geo);
      return { key: logKeyOf(e), value: Buffer.from(stringifyOrRefuse(this.json, e)) };
    });
    const started = performance.now();
    await this.deps.log.append('raw-events', records);
    metrics.appendDone('raw-events', (performance.now() - started) / 1000);
    metrics.ingestEvents(protocol, 'accepted', records.length);
    this.deps.usage?.record(property.tenantId, property.propertyId, Date.now(), records.length, 0);
    return records.length;
  }

  deadLetter(protocol: Protocol, refused: RefusedEvent[], property: TenantProperty | null, receivedAt: number): Promise<void> {
    const records = refused.map((r) => {
      const dl: DeadLetter = {
        tenant_id: property?.tenantId ?? null,
        property_id: property?.propertyId ?? null,
        protocol,
        received_at: receivedAt,
        reason: r.reason,
        detail: r.detail,
        payload: r.payload,
      };
      let value: string;
      try {
        value = JSON.stringify(dl);
      } catch {
        // kept with its reason; a payload too deep to serialise cannot be kept itself
        value = JSON.stringify({ ...dl, payload: { _tally_unserialisable: 'nested too deeply' } });
      }
      return { key: property?.propertyId ?? 'unknown', value: Buffer.from(value) };
    });
    const started = performance.now();
    return this.deps.log.append('dead-letter', records).then(() => {
      metrics.appendDone('dead-letter', (performance.now() - started) / 1000);
      metrics.ingestEvents(protocol, 'dead_lettered', refused.length);
      for (const r of refused) metrics.deadLetter(protocol, r.reason);
    });
  }
}

/** Property rows are replaced, never changed, when the credential cache refreshes: one limit object each. */
const limits = new WeakMap<TenantProperty, BucketLimit>();

function limitOf(property: TenantProperty): BucketLimit {
  let limit = limits.get(property);
  if (!limit) {
    // a plan row without a burst (or with less) still gets the 10x the issue asks for
    limit = { ratePerSecond: property.rateLimitPerSecond, burst: Math.max(property.rateBurst || 0, property.rateLimitPerSecond * 10) };
    limits.set(property, limit);
  }
  return limit;
}

/** The log key of a raw event: its property and visitor, so one visitor's events stay in order on one partition. */
export function logKeyOf(e: RawEvent): string {
  return `${e.property_id}:${e.client_id ?? e.user_id ?? e.event_id}`;
}

/**
 * JSON.parse accepts nesting that JSON.stringify overflows the stack on (a few hundred kB of
 * `[[[…]]]` inside a param): such a request is refused whole, before anything is appended.
 */
function stringifyOrRefuse(json: RawEventJson, e: RawEvent): string {
  try {
    return json.write(e);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new TallyError('malformed_body', 'a value is nested too deeply to store', { reason: 'too_deeply_nested' });
  }
}
