import { createHash } from 'node:crypto';
import type { TenantProperty } from '../domain/tenant-property.js';
import { TallyError } from '../infra/errors.js';
import { metrics } from '../infra/metrics/metrics.js';
import type { ImportSink, Progress } from './lifecycle.ports.js';

/** The CSV header an import file may use (any subset, in any order; `name` and `timestamp` required). */
export const IMPORT_CSV_COLUMNS = [
  'event_id',
  'timestamp',
  'name',
  'client_id',
  'user_id',
  'session_id',
  'url',
  'referrer',
  'title',
  'user_agent',
  'language',
  'screen',
  'params',
  'user_props',
] as const;

/** Rows sent to the event log per append (ingest's native batch limit). */
const BATCH = 500;
/** An import file is read whole: split larger ones. */
export const MAX_IMPORT_BYTES = 256 * 1024 * 1024;

export interface ImportResult {
  rows: number;
  imported: number;
  refused: { line: number; reason: string }[];
}

export type ImportFormat = 'ndjson' | 'csv';

/** NDJSON when the first non-blank character opens an object, else CSV with a header. */
export function detectFormat(text: string): ImportFormat {
  return text.trimStart().startsWith('{') ? 'ndjson' : 'csv';
}

/** The records of an import file, each with the line it starts on (1-based). */
export function importRecords(text: string, format: ImportFormat): { line: number; row: Record<string, unknown> | string }[] {
  if (format === 'ndjson') {
    const out: { line: number; row: Record<string, unknown> | string }[] = [];
    text.split('\n').forEach((l, i) => {
      if (!l.trim()) return;
      try {
        const v = JSON.parse(l);
        out.push({ line: i + 1, row: v && typeof v === 'object' && !Array.isArray(v) ? v : 'not a JSON object' });
      } catch {
        out.push({ line: i + 1, row: 'not valid JSON' });
      }
    });
    return out;
  }
  const records = parseCsv(text);
  if (!records.length) return [];
  const header = records[0].cells.map((h) => h.trim());
  const unknown = header.filter((h) => !(IMPORT_CSV_COLUMNS as readonly string[]).includes(h));
  if (unknown.length)
    throw new TallyError('invalid_argument', `unknown CSV column(s) ${unknown.join(', ')} (columns: ${IMPORT_CSV_COLUMNS.join(', ')})`, {
      reason: 'bad_header',
    });
  if (!header.includes('name') || !header.includes('timestamp'))
    throw new TallyError('invalid_argument', 'the CSV header needs name and timestamp', { reason: 'bad_header' });
  return records.slice(1).map(({ line, cells }) => {
    if (cells.length !== header.length) return { line, row: `${cells.length} cells, the header has ${header.length}` };
    const row: Record<string, unknown> = {};
    for (const [i, h] of header.entries()) {
      const v = cells[i];
      if (v === '') continue;
      if (h === 'params' || h === 'user_props') {
        try {
          row[h] = JSON.parse(v);
        } catch {
          return { line, row: `${h}: not a JSON object` };
        }
      } else row[h] = h === 'timestamp' && /^\d+$/.test(v) ? Number(v) : v;
    }
    return { line, row };
  });
}

/** RFC 4180: quoted cells may hold commas, quotes ("") and line breaks; blank lines are skipped. */
export function parseCsv(text: string): { line: number; cells: string[] }[] {
  const out: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        cell += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      any = true;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
      any = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (any || cell) out.push({ line: start, cells: [...cells, cell] });
      cells = [];
      cell = '';
      any = false;
      line++;
      start = line;
    } else {
      cell += c;
      any = true;
    }
  }
  if (any || cell) out.push({ line: start, cells: [...cells, cell] });
  return out;
}

/**
 * A backfill: every record through ingest's own parser into the event log, each filed as
 * received at its own timestamp (so the transform dates it, and the raw zone files it, where it
 * happened, also years ago). A row without an event_id gets one derived from the property and
 * the row, so importing the same file twice adds nothing to reports (the transform keeps one
 * event per id). Refused rows are reported with their line; the others are imported.
 */
export async function importText(
  deps: { sink: ImportSink; now?: () => number },
  property: TenantProperty,
  text: string,
  format: ImportFormat = detectFormat(text),
  progress: Progress = () => undefined,
): Promise<ImportResult> {
  const now = (deps.now ?? Date.now)();
  const records = importRecords(text, format);
  const result: ImportResult = { rows: records.length, imported: 0, refused: [] };
  progress(0, records.length, 'rows');
  for (let i = 0; i < records.length; i += BATCH) {
    const batch: { line: number; row: Record<string, unknown>; receivedAt: number }[] = [];
    for (const { line, row } of records.slice(i, i + BATCH)) {
      if (typeof row === 'string') {
        result.refused.push({ line, reason: row });
        continue;
      }
      const t = timestampOf(row.timestamp);
      if (t === null) result.refused.push({ line, reason: 'timestamp: required, epoch milliseconds or an ISO 8601 string' });
      else if (t > now) result.refused.push({ line, reason: 'timestamp: in the future' });
      else batch.push({ line, row: { ...row, event_id: row.event_id ?? derivedEventId(property.propertyId, row) }, receivedAt: t });
    }
    if (batch.length) {
      const { refused } = await deps.sink.append(
        property,
        batch.map((b) => ({ row: b.row, receivedAt: b.receivedAt })),
      );
      for (const r of refused) result.refused.push({ line: batch[r.index].line, reason: r.detail });
      result.imported += batch.length - refused.length;
    }
    progress(Math.min(i + BATCH, records.length), records.length, 'rows');
  }
  result.refused.sort((a, b) => a.line - b.line);
  metrics.lifecycleRecords('import', 'accepted', result.imported);
  metrics.lifecycleRecords('import', 'refused', result.refused.length);
  return result;
}

function timestampOf(v: unknown): number | null {
  const t = typeof v === 'number' ? v : typeof v === 'string' ? (/^\d+$/.test(v) ? Number(v) : Date.parse(v)) : NaN;
  return Number.isFinite(t) ? Math.round(t) : null;
}

/** `imp-` and 32 hex digits of SHA-256 over the property and the row's canonical JSON. */
export function derivedEventId(propertyId: string, row: Record<string, unknown>): string {
  return 'imp-' + createHash('sha256').update(propertyId).update('\n').update(canonical(row)).digest('hex').slice(0, 32);
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}
