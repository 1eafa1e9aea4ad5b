import type { MetricType } from './catalog.js';
import { encodeEnum, METRIC_TYPE } from './ga4-enums.js';

/** RunReportResponse as GA4 serialises it (proto3 JSON: empty lists and zero numbers omitted). */
export interface DimensionValue {
  value: string;
}
export interface MetricValue {
  value: string;
}
export interface ReportRow {
  dimensionValues: DimensionValue[];
  metricValues: MetricValue[];
}
export interface QuotaStatus {
  consumed?: number;
  remaining?: number;
}
export interface PropertyQuota {
  tokensPerDay: QuotaStatus;
  tokensPerHour: QuotaStatus;
  concurrentRequests: QuotaStatus;
  serverErrorsPerProjectPerHour: QuotaStatus;
  potentiallyThresholdedRequestsPerHour: QuotaStatus;
  tokensPerProjectPerHour: QuotaStatus;
}
export interface RunReportResponse {
  dimensionHeaders?: { name: string }[];
  metricHeaders?: { name: string; type: string | number }[];
  rows?: ReportRow[];
  totals?: ReportRow[];
  maximums?: ReportRow[];
  minimums?: ReportRow[];
  rowCount?: number;
  /**
   * `tallyCompleteUpTo` is Tally's own field (GA4 has none): an RFC 3339 instant such that every
   * event acknowledged to a client before it is in the numbers. Absent when not known.
   */
  metadata: {
    currencyCode: string;
    timeZone: string;
    tallyCompleteUpTo?: string;
    /** Tally's own: a billing notice (over quota, payment failed), when there is one. */
    tallyNotice?: string;
  };
  propertyQuota?: PropertyQuota;
  kind: 'analyticsData#runReport';
}

export const RESERVED = { TOTAL: 'RESERVED_TOTAL', MAXIMUM: 'RESERVED_MAX', MINIMUM: 'RESERVED_MIN' } as const;

export function metricTypeOut(type: MetricType, enumAsInt: boolean): string | number {
  return encodeEnum(METRIC_TYPE, type, enumAsInt);
}

/** Metric values are strings: int64 digits for integers, shortest round-trip decimals for floats. */
export function formatMetric(value: unknown, type: MetricType): string {
  if (value === null || value === undefined) return '0';
  if (type === 'TYPE_INTEGER') {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
    const n = Number(value);
    return Number.isFinite(n) ? String(Math.round(n)) : '0';
  }
  const n = Number(value);
  return Number.isFinite(n) ? String(n) : '0';
}

const KEY_ORDER = ['dimensionHeaders', 'metricHeaders', 'rows', 'totals', 'maximums', 'minimums', 'rowCount', 'metadata', 'propertyQuota', 'kind'] as const;

/** GA4's field order; drops empty lists and zero counts, as proto3 JSON does. */
export function compact<T extends Partial<Record<(typeof KEY_ORDER)[number], unknown>>>(r: T): T {
  const out: Record<string, unknown> = {};
  for (const k of KEY_ORDER) {
    const v = r[k];
    if (v === undefined || (Array.isArray(v) && v.length === 0) || (k === 'rowCount' && v === 0)) continue;
    out[k] = v;
  }
  return out as T;
}
