import { findDimension, findMetric, type DimensionDef, type MetricType } from './catalog.js';
import type { MetricExpression, ReportRequest, RequestedDimension } from './report-request.js';
import { filterFields } from './report-filter-sql.js';
import type { SqlDialect } from './sql-dialect.js';
import type { Params } from './sql-params.js';

/** The report compiler's fields: requested dimensions and metrics resolved to SQL (report-compiler.ts). */
export interface ResolvedDim {
  /** Row-level SQL over the event alias (grouped form). */
  event: string;
  session?: string;
  needsSession: boolean;
  needsFirstSession: boolean;
  needsFirstUser: boolean;
  /** Item-scoped: read from the items table (`i`). */
  item: boolean;
  present?: (grouped: string) => string;
}

export interface MetricColumn {
  column: string;
  name: string;
  type: MetricType;
  sql: string;
  visible: boolean;
  requested: boolean;
}

// Metric SQL refers to atoms as {{atom}} until the merge stage decides how to read them.
export const ATOM_REF = /\{\{([A-Za-z0-9_]+)\}\}/g;

export function atomsOf(sql: string): string[] {
  return [...sql.matchAll(ATOM_REF)].map((m) => m[1]);
}

export function resolveMetrics(req: ReportRequest, p: Params, d: SqlDialect): MetricColumn[] {
  const ref = (a: string) => `{{${a}}}`;
  const out: MetricColumn[] = [];
  const add = (name: string, type: MetricType, sql: string, visible: boolean, requested: boolean) =>
    out.push({ column: `m${out.length}`, name, type, sql, visible, requested });

  const requested = req.metrics;
  for (const m of requested.filter((x) => !x.invisible).concat(requested.filter((x) => x.invisible))) {
    if (m.expression) add(m.name, 'TYPE_FLOAT', compileExpression(m.expression, p, d), !m.invisible, true);
    else add(m.name, m.def!.type, m.def!.sql(ref, d), !m.invisible, true);
  }
  const extra = [...(req.metricFilter ? filterFields(req.metricFilter) : []), ...req.orderBys.flatMap((o) => (o.kind === 'metric' ? [o.metricName] : []))];
  for (const name of extra) {
    if (out.some((m) => m.name === name)) continue;
    const def = findMetric(name)!;
    add(name, def.type, def.sql(ref, d), false, false);
  }
  return out;
}

export function compileExpression(e: MetricExpression, p: Params, d: SqlDialect): string {
  const ref = (a: string) => `{{${a}}}`;
  switch (e.kind) {
    case 'metric':
      return `(${e.def.sql(ref, d)})`;
    case 'number':
      return p.add(e.value, 'double');
    case 'neg':
      return `(-${compileExpression(e.of, p, d)})`;
    default: {
      const l = compileExpression(e.left, p, d);
      const r = compileExpression(e.right, p, d);
      return e.op === '/' ? `(CASE WHEN ${r} = 0 THEN 0 ELSE ${d.toDouble(l)} / ${r} END)` : `(${d.toDouble(l)} ${e.op} ${r})`;
    }
  }
}

export function metricColumnFor(metrics: MetricColumn[], name: string): string {
  const m = metrics.find((x) => x.name === name);
  if (!m) throw new Error(`compiler: metric ${name} was not resolved`);
  return m.column;
}

export function fromDef(def: DimensionDef, d: SqlDialect): ResolvedDim {
  return {
    event: def.onEvent(d),
    session: def.onSession?.(d),
    needsSession: def.eventNeedsSession ?? false,
    needsFirstSession: def.needsFirstSession ?? false,
    needsFirstUser: def.needsFirstUser ?? false,
    item: def.item ?? false,
    present: def.present ? (g) => def.present!(g, d) : undefined,
  };
}

export function rowLevel(x: ResolvedDim, form: 'event' | 'session'): string {
  const sql = form === 'event' ? x.event : x.session!;
  return x.present ? x.present(sql) : sql;
}

export function resolveRequested(rd: RequestedDimension, p: Params, d: SqlDialect): ResolvedDim {
  if (!rd.expression) return fromDef(rd.def!, d);
  const e = rd.expression;
  const names = e.kind === 'concatenate' ? e.dimensionNames : [e.dimensionName];
  const bases = names.map((n) => fromDef(findDimension(n)!, d));
  const delimiter = e.kind === 'concatenate' ? p.add(e.delimiter, 'text') : '';
  const combine = (form: 'event' | 'session'): string | undefined => {
    if (form === 'session' && bases.some((b) => b.session === undefined)) return undefined;
    const parts = bases.map((b) => rowLevel(b, form));
    if (e.kind === 'lowerCase') return `LOWER(${parts[0]})`;
    if (e.kind === 'upperCase') return `UPPER(${parts[0]})`;
    return parts.join(` || ${delimiter} || `);
  };
  return {
    event: combine('event')!,
    session: combine('session'),
    needsSession: bases.some((b) => b.needsSession),
    needsFirstSession: bases.some((b) => b.needsFirstSession),
    needsFirstUser: bases.some((b) => b.needsFirstUser),
    item: bases.some((b) => b.item),
  };
}
