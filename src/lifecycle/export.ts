import { createReadStream } from 'node:fs';
import { writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datesBetween } from '../domain/time-zone.js';
import { TallyError } from '../infra/errors.js';
import { metrics } from '../infra/metrics/metrics.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { Progress } from './lifecycle.ports.js';
import { sqlText, withScratchDuckDb } from './parquet-files.js';

export const EXPORT_FORMATS = ['ndjson', 'csv', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** At most this many days per export (a year and a day: split longer ranges). */
export const MAX_EXPORT_DAYS = 366;

export interface ExportRequest {
  tenantId: string;
  propertyId: string;
  /** Local dates YYYY-MM-DD, both included. */
  from: string;
  to: string;
  format: ExportFormat;
}

type Value = { string_value: string | null; int_value: number | null; double_value: number | null };
export interface Ga4ExportRow {
  event_date: string;
  event_timestamp: number;
  event_name: string;
  event_params: { key: string; value: Value }[];
  user_id: string | null;
  user_pseudo_id: string | null;
  user_properties: { key: string; value: Value }[];
  device: {
    category: string | null;
    operating_system: string | null;
    operating_system_version: string | null;
    language: string | null;
    web_info: { browser: string | null; browser_version: string | null; hostname: string | null };
  };
  geo: { country: string | null; region: string | null; city: string | null };
  collected_traffic_source: {
    manual_source: string | null;
    manual_medium: string | null;
    manual_campaign_name: string | null;
    manual_term: string | null;
    manual_content: string | null;
  };
  session_traffic_source_last_click: { source: string | null; medium: string | null; campaign_name: string | null; default_channel_group: string | null };
  platform: 'WEB';
  stream_id: string;
  tally: { event_id: string; session_key: string | null; is_key_event: boolean; protocol: string | null };
}

/** The flat column names of the CSV export (nested fields joined with '.', repeated ones as JSON). */
export const CSV_COLUMNS = [
  'event_date',
  'event_timestamp',
  'event_name',
  'event_params',
  'user_id',
  'user_pseudo_id',
  'user_properties',
  'device.category',
  'device.operating_system',
  'device.operating_system_version',
  'device.language',
  'device.web_info.browser',
  'device.web_info.browser_version',
  'device.web_info.hostname',
  'geo.country',
  'geo.region',
  'geo.city',
  'collected_traffic_source.manual_source',
  'collected_traffic_source.manual_medium',
  'collected_traffic_source.manual_campaign_name',
  'collected_traffic_source.manual_term',
  'collected_traffic_source.manual_content',
  'session_traffic_source_last_click.source',
  'session_traffic_source_last_click.medium',
  'session_traffic_source_last_click.campaign_name',
  'session_traffic_source_last_click.default_channel_group',
  'platform',
  'stream_id',
  'tally.event_id',
  'tally.session_key',
  'tally.is_key_event',
  'tally.protocol',
] as const;

export function checkExportRequest(r: { from: string; to: string; format: string }): void {
  const date = /^\d{4}-\d{2}-\d{2}$/;
  if (!date.test(r.from) || !date.test(r.to) || Number.isNaN(Date.parse(r.from)) || Number.isNaN(Date.parse(r.to)))
    throw new TallyError('invalid_argument', 'from and to: dates as YYYY-MM-DD', { reason: 'invalid_date' });
  if (r.from > r.to) throw new TallyError('invalid_argument', 'from is after to', { reason: 'invalid_range' });
  if (datesBetween(r.from, r.to).length > MAX_EXPORT_DAYS)
    throw new TallyError('invalid_argument', `at most ${MAX_EXPORT_DAYS} days per export`, { reason: 'range_too_long' });
  if (!(EXPORT_FORMATS as readonly string[]).includes(r.format))
    throw new TallyError('invalid_argument', `format: one of ${EXPORT_FORMATS.join(', ')}`, { reason: 'invalid_format' });
}

/** The property's events of each local date of the range, in GA4's BigQuery export layout, a day at a time (bots left out, as GA4 does). */
export async function* exportRows(warehouse: Warehouse, r: Omit<ExportRequest, 'format'>, progress?: Progress): AsyncGenerator<Ga4ExportRow> {
  const dates = datesBetween(r.from, r.to);
  for (const [i, date] of dates.entries()) {
    progress?.(i, dates.length, 'dates');
    const rows = await warehouse.query<Record<string, unknown>>(
      `SELECT * FROM events WHERE tenant_id = $1 AND property_id = $2 AND local_date = CAST($3 AS DATE) AND NOT is_bot ORDER BY event_ms, event_id`,
      [r.tenantId, r.propertyId, date],
    );
    for (const row of rows) yield toGa4(row, date, r.propertyId);
  }
  progress?.(dates.length, dates.length, 'dates');
}

/** One warehouse event row in GA4's export layout. */
export function toGa4(e: Record<string, unknown>, date: string, propertyId: string): Ga4ExportRow {
  const s = (v: unknown) => (v === null || v === undefined || v === '' ? null : String(v));
  const params: { key: string; value: Value }[] = [];
  const add = (key: string, v: unknown) => {
    if (v !== null && v !== undefined) params.push({ key, value: paramValue(v) });
  };
  add('page_location', s(e.page_location));
  add('page_title', s(e.page_title));
  add('page_referrer', s(e.page_referrer));
  add('ga_session_id', s(e.session_key));
  const engagement = Number(e.engagement_time_ms ?? 0);
  if (engagement > 0) add('engagement_time_msec', engagement);
  for (const [k, v] of Object.entries(json(e.params))) if (!params.some((p) => p.key === k)) add(k, v);
  return {
    event_date: date.replace(/-/g, ''),
    event_timestamp: Number(e.event_ms) * 1000,
    event_name: String(e.event_name),
    event_params: params,
    user_id: s(e.user_id),
    user_pseudo_id: s(e.client_id),
    user_properties: Object.entries(json(e.user_props)).map(([key, v]) => ({ key, value: paramValue(v) })),
    device: {
      category: s(e.device_category),
      operating_system: s(e.os),
      operating_system_version: s(e.os_version),
      language: s(e.language),
      web_info: { browser: s(e.browser), browser_version: s(e.browser_version), hostname: s(e.host_name) },
    },
    geo: { country: s(e.country), region: s(e.region), city: s(e.city) },
    collected_traffic_source: {
      manual_source: s(e.utm_source),
      manual_medium: s(e.utm_medium),
      manual_campaign_name: s(e.utm_campaign),
      manual_term: s(e.utm_term),
      manual_content: s(e.utm_content),
    },
    session_traffic_source_last_click: {
      source: s(e.session_source),
      medium: s(e.session_medium),
      campaign_name: s(e.session_campaign),
      default_channel_group: s(e.session_channel_group),
    },
    platform: 'WEB',
    stream_id: propertyId,
    tally: {
      event_id: String(e.event_id),
      session_key: s(e.session_key),
      is_key_event: e.is_key_event === true || e.is_key_event === 1,
      protocol: s(e.protocol),
    },
  };
}

function json(v: unknown): Record<string, unknown> {
  if (typeof v !== 'string' || !v) return {};
  try {
    const o = JSON.parse(v);
    return o && typeof o === 'object' && !Array.isArray(o) ? o : {};
  } catch {
    return {};
  }
}

function paramValue(v: unknown): Value {
  if (typeof v === 'number')
    return Number.isInteger(v) ? { string_value: null, int_value: v, double_value: null } : { string_value: null, int_value: null, double_value: v };
  return { string_value: typeof v === 'string' ? v : JSON.stringify(v), int_value: null, double_value: null };
}

/** One CSV line of a row (RFC 4180 quoting). */
export function csvLine(values: readonly unknown[]): string {
  return values.map((v) => csvCell(v)).join(',') + '\n';
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function flat(row: Ga4ExportRow): unknown[] {
  return CSV_COLUMNS.map((c) => c.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | null)?.[k] ?? null, row));
}

/**
 * Writes the export to `write` (a stream's write, awaited for back-pressure): NDJSON and CSV row
 * by row; Parquet through a scratch NDJSON file that DuckDB turns into one Parquet file, then
 * streamed. Returns the rows written.
 */
export async function writeExport(
  warehouse: Warehouse,
  r: ExportRequest,
  write: (chunk: Buffer | string) => Promise<void>,
  progress?: Progress,
): Promise<number> {
  checkExportRequest(r);
  let n = 0;
  if (r.format !== 'parquet') {
    if (r.format === 'csv') await write(csvLine(CSV_COLUMNS));
    let buf = '';
    for await (const row of exportRows(warehouse, r, progress)) {
      buf += r.format === 'csv' ? csvLine(flat(row)) : JSON.stringify(row) + '\n';
      n++;
      if (buf.length > 64 * 1024) {
        await write(buf);
        buf = '';
      }
    }
    if (buf) await write(buf);
  } else {
    n = await withScratchDuckDb(async (conn, scratch) => {
      const src = join(scratch, 'export.ndjson');
      const dst = join(scratch, 'export.parquet');
      await writeFile(src, '');
      let rows = 0;
      let buf = '';
      for await (const row of exportRows(warehouse, r, progress)) {
        buf += JSON.stringify(row) + '\n';
        rows++;
        if (buf.length > 1024 * 1024) {
          await appendFile(src, buf);
          buf = '';
        }
      }
      await appendFile(src, buf);
      if (rows)
        await conn.run(`COPY (SELECT * FROM read_json(${sqlText(src)}, format = 'newline_delimited', sample_size = -1)) TO ${sqlText(dst)} (FORMAT parquet)`);
      else await conn.run(`COPY (SELECT NULL::VARCHAR AS event_date WHERE false) TO ${sqlText(dst)} (FORMAT parquet)`);
      for await (const chunk of createReadStream(dst)) await write(chunk as Buffer);
      return rows;
    });
  }
  metrics.lifecycleRecords('export', r.format, n);
  return n;
}
