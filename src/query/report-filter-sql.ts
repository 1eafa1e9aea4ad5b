import type { Filter, FilterExpr } from './report-filter.js';
import type { Params } from './sql-params.js';
import type { SqlDialect } from './sql-dialect.js';

/**
 * A FilterExpr as a SQL predicate: report filters (row-level over dimensions, or over the metric
 * columns after grouping) and the funnel's step filters compile through here. Every value is a
 * bound parameter; `field` maps a field name to its SQL (from the catalog only).
 */
export function filterFields(e: FilterExpr): string[] {
  if (e.kind === 'and' || e.kind === 'or') return e.expressions.flatMap(filterFields);
  if (e.kind === 'not') return filterFields(e.expression);
  return [e.filter.fieldName];
}

export function compileFilter(e: FilterExpr, field: (name: string) => string, onMetrics: boolean, p: Params, d: SqlDialect): string {
  if (e.kind === 'and' || e.kind === 'or') {
    return `(${e.expressions.map((x) => compileFilter(x, field, onMetrics, p, d)).join(e.kind === 'and' ? ' AND ' : ' OR ')})`;
  }
  if (e.kind === 'not') return `(NOT ${compileFilter(e.expression, field, onMetrics, p, d)})`;
  // COALESCE: a comparison with NULL is "no match", and NOT (no match) must then match.
  return `COALESCE(${compileLeaf(e.filter, field(e.filter.fieldName), onMetrics, p, d)}, FALSE)`;
}

const OPS = { EQUAL: '=', LESS_THAN: '<', LESS_THAN_OR_EQUAL: '<=', GREATER_THAN: '>', GREATER_THAN_OR_EQUAL: '>=' } as const;

export function compileLeaf(f: Filter, x: string, isMetric: boolean, p: Params, d: SqlDialect): string {
  switch (f.kind) {
    case 'string': {
      const cs = f.caseSensitive;
      const v = p.add(f.value, 'text');
      const lx = cs ? x : `LOWER(${x})`;
      const lv = cs ? v : `LOWER(${v})`;
      switch (f.matchType) {
        case 'EXACT':
          return `(${lx} = ${lv})`;
        case 'BEGINS_WITH':
          return `(left(${lx}, length(${lv})) = ${lv})`;
        case 'ENDS_WITH':
          return `(right(${lx}, length(${lv})) = ${lv})`;
        case 'CONTAINS':
          return `(strpos(${lx}, ${lv}) > 0)`;
        case 'FULL_REGEXP':
          return d.regexMatch(x, v, true, cs);
        default:
          return d.regexMatch(x, v, false, cs);
      }
    }
    case 'inList': {
      const values = f.values.map((v) => p.add(v, 'text'));
      return f.caseSensitive ? `(${x} IN (${values.join(', ')}))` : `(LOWER(${x}) IN (${values.map((v) => `LOWER(${v})`).join(', ')}))`;
    }
    case 'numeric': {
      const n = isMetric ? x : d.toNumber(x);
      return `(${n} ${OPS[f.operation]} ${p.add(f.value, 'double')})`;
    }
    case 'between': {
      const n = isMetric ? x : d.toNumber(x);
      return `(${n} BETWEEN ${p.add(f.from, 'double')} AND ${p.add(f.to, 'double')})`;
    }
    default:
      return `(${x} = '' OR ${x} = '(not set)')`;
  }
}
