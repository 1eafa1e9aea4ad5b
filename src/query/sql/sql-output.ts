import { Bool, Float64, Int64, Table, Utf8, tableToIPC, vectorFromArray, type DataType, type Vector } from 'apache-arrow';
import type { SandboxResult } from '../../infra/warehouse/warehouse.port.js';

/** The formats `POST /v1/sql` answers in, chosen by `Accept`. */
export type SqlFormat = 'json' | 'csv' | 'arrow';

export const ARROW_STREAM = 'application/vnd.apache.arrow.stream';

export function formatFor(accept: string | undefined): SqlFormat {
  const a = (accept ?? '').toLowerCase();
  if (a.includes(ARROW_STREAM)) return 'arrow';
  if (a.includes('text/csv')) return 'csv';
  return 'json';
}

/** RFC 4180: a header line, fields quoted when they hold a comma, quote or line break; NULL as an empty field. */
export function toCsv(result: SandboxResult): string {
  const field = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'string' ? v : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [result.columns.map((c) => field(c.name)).join(',')];
  for (const row of result.rows) lines.push(row.map(field).join(','));
  return lines.join('\r\n') + '\r\n';
}

const INTEGER = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|INT\d*)$/;
const FLOATING = /^(FLOAT|DOUBLE|REAL|DECIMAL.*)$/;

/** An Arrow IPC stream: integers as Int64, decimals and floats as Float64, booleans as Bool, the rest as UTF-8 text. */
export function toArrow(result: SandboxResult): Uint8Array {
  const columns: Record<string, Vector> = {};
  result.columns.forEach((c, i) => {
    const values = result.rows.map((r) => r[i]);
    const t = c.type.toUpperCase();
    let type: DataType;
    let data: unknown[];
    if (INTEGER.test(t)) {
      type = new Int64();
      data = values.map((v) => (v === null || v === undefined ? null : BigInt(v as string | number)));
    } else if (FLOATING.test(t)) {
      type = new Float64();
      data = values.map((v) => (v === null || v === undefined ? null : Number(v)));
    } else if (t === 'BOOLEAN') {
      type = new Bool();
      data = values.map((v) => (v === null || v === undefined ? null : Boolean(v)));
    } else {
      type = new Utf8();
      data = values.map((v) => (v === null || v === undefined ? null : String(v)));
    }
    // a repeated column name (SELECT 1 AS a, 2 AS a) would overwrite: make it unique
    let name = c.name;
    for (let n = 2; name in columns; n++) name = `${c.name}_${n}`;
    columns[name] = vectorFromArray(data, type) as Vector;
  });
  return tableToIPC(new Table(columns), 'stream');
}
