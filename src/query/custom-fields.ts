import { customApiName, parseCustomName, type CustomDefinition } from '../domain/custom-definition.js';
import type { FilterExpr } from './report-filter.js';
import type { MetricExpression, ReportRequest } from './report-request.js';
import { unknownDimensionError, unknownMetricError } from './report-request.limits.js';

/**
 * Whether a name may be used as a dimension or metric by the property: any name that is not of the
 * custom form (the catalog decides on those), or a custom name with an active definition of that kind.
 */
export function activeCustomNames(definitions: readonly CustomDefinition[]): { dimension(name: string): boolean; metric(name: string): boolean } {
  const active = (kind: CustomDefinition['kind']) => new Set(definitions.filter((d) => d.kind === kind && !d.archived).map(customApiName));
  const dims = active('dimension');
  const metrics = active('metric');
  return {
    dimension: (name) => !parseCustomName(name) || dims.has(name),
    metric: (name) => !parseCustomName(name) || metrics.has(name),
  };
}

/**
 * Per-request check of custom fields (issue 14): a `customEvent:`/`customUser:` name resolves by
 * its form in the catalog, but a report may use it only while the property has an active (not
 * archived) definition of that kind; otherwise GA4's "not a valid dimension/metric" error.
 */
export function checkCustomFields(req: ReportRequest, definitions: readonly CustomDefinition[]): void {
  const active = activeCustomNames(definitions);
  const dim = (name: string) => {
    if (!active.dimension(name)) throw unknownDimensionError(name);
  };
  const metric = (name: string) => {
    if (!active.metric(name)) throw unknownMetricError(name);
  };
  for (const d of req.dimensions) {
    if (!d.expression) dim(d.name);
    else (d.expression.kind === 'concatenate' ? d.expression.dimensionNames : [d.expression.dimensionName]).forEach(dim);
  }
  const walkExpr = (e: MetricExpression): void => {
    if (e.kind === 'metric') metric(e.name);
    else if (e.kind === 'op') [e.left, e.right].forEach(walkExpr);
    else if (e.kind === 'neg') walkExpr(e.of);
  };
  for (const m of req.metrics) {
    if (m.expression) walkExpr(m.expression);
    else metric(m.name);
  }
  const walkFilter = (e: FilterExpr, check: (name: string) => void): void => {
    if (e.kind === 'and' || e.kind === 'or') e.expressions.forEach((x) => walkFilter(x, check));
    else if (e.kind === 'not') walkFilter(e.expression, check);
    else if (!req.dimensions.some((d) => d.name === e.filter.fieldName && d.expression)) check(e.filter.fieldName);
  };
  if (req.dimensionFilter) walkFilter(req.dimensionFilter, dim);
  if (req.metricFilter) walkFilter(req.metricFilter, metric);
  for (const o of req.orderBys) {
    if (o.kind === 'metric' && !req.metrics.some((m) => m.name === o.metricName)) metric(o.metricName);
  }
}
