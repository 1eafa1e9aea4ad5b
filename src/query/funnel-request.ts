import { findDimension, findMetric } from './catalog.js';
import { enumName } from './ga4-enums.js';
import { bool, int64, invalid, list, object, optionalString } from './proto-json.js';
import { checkFilterFields, checkFilterSize, parseFilter, parseFilterExpr, type Filter, type FilterExpr } from './report-filter.js';
import { badEnum, unknownDimensionError } from './report-request.limits.js';
import { parseDateRange, type ParseContext, type ResolvedDateRange } from './report-request.js';

/**
 * RunFunnelReportRequest (Data API v1alpha, `analytics_data_api.proto` / `data.proto`): parsed and
 * validated into a FunnelRequest, or refused with 400 INVALID_ARGUMENT naming the field.
 */

export const FUNNEL_VISUALIZATION_TYPE = { FUNNEL_VISUALIZATION_TYPE_UNSPECIFIED: 0, STANDARD_FUNNEL: 1, TRENDED_FUNNEL: 2 } as const;

/** A step's condition on one event. */
export type StepExpr =
  | { kind: 'and'; expressions: StepExpr[] }
  | { kind: 'or'; expressions: StepExpr[] }
  | { kind: 'not'; expression: StepExpr }
  | { kind: 'field'; filter: Filter }
  | { kind: 'event'; eventName: string; params?: ParamExpr };

/** A funnelParameterFilterExpression: filters on the event's parameters (fieldName is the parameter). */
export type ParamExpr = FilterExpr;

export interface FunnelStep {
  /** As reported in funnelStepName: "1. Name". */
  label: string;
  directlyFollowed: boolean;
  /** withinDurationFromPriorStep in milliseconds (inclusive), or undefined. */
  withinMs?: number;
  filter: StepExpr;
}

export interface FunnelRequest {
  dateRanges: ResolvedDateRange[];
  isOpenFunnel: boolean;
  steps: FunnelStep[];
  breakdown?: { dimension: string; limit: number };
  nextAction?: { dimension: string; limit: number };
  trended: boolean;
  dimensionFilter?: FilterExpr;
  limit: number;
  returnPropertyQuota: boolean;
}

/** RunFunnelReportRequest's JSON field names (v1alpha analytics_data_api.proto). */
export const FUNNEL_REQUEST_KEYS = [
  'property',
  'dateRanges',
  'funnel',
  'funnelBreakdown',
  'funnelNextAction',
  'funnelVisualizationType',
  'segments',
  'limit',
  'dimensionFilter',
  'returnPropertyQuota',
] as const;

export const MAX_FUNNEL_STEPS = 10;
const DEFAULT_FUNNEL_LIMIT = 10_000;
const MAX_FUNNEL_LIMIT = 100_000;
/** GA4: nextActionDimension is eventName or a Page / screen dimension. */
export const NEXT_ACTION_DIMENSIONS = ['eventName', 'pagePath', 'pageTitle', 'pageLocation', 'pagePathPlusQueryString', 'unifiedScreenName', 'hostName'];
const PARAM_NAME = /^[A-Za-z0-9_]{1,100}$/;

export function parseFunnelRequest(body: unknown, ctx: ParseContext): FunnelRequest {
  const r = object(body, '', FUNNEL_REQUEST_KEYS);
  if (list(r.segments, 'segments').length > 0) throw invalid('Tally does not answer funnel segments yet.', 'segments');
  const dateRanges = list(r.dateRanges, 'date_ranges').map((v, i) => parseDateRange(v, `date_ranges[${i}]`, i, ctx));
  if (dateRanges.length === 0) throw invalid('Must specify at least one date range.', 'dateRanges');
  if (dateRanges.length > 4) throw invalid('Requests are limited to 4 dateRanges.', 'dateRanges');

  if (r.funnel == null) throw invalid('funnel is required.', 'funnel');
  const f = object(r.funnel, 'funnel', ['isOpenFunnel', 'steps']);
  const rawSteps = list(f.steps, 'funnel.steps');
  if (rawSteps.length === 0) throw invalid('funnel.steps must have at least one step.', 'funnel.steps');
  if (rawSteps.length > MAX_FUNNEL_STEPS) throw invalid(`Funnels are limited to ${MAX_FUNNEL_STEPS} steps.`, 'funnel.steps');
  const steps = rawSteps.map((v, i) => parseStep(v, `funnel.steps[${i}]`, i));

  const breakdown = r.funnelBreakdown == null ? undefined : parseAdded(r.funnelBreakdown, 'funnel_breakdown', 'breakdownDimension', 15);
  const nextAction = r.funnelNextAction == null ? undefined : parseAdded(r.funnelNextAction, 'funnel_next_action', 'nextActionDimension', 5);
  if (nextAction && !NEXT_ACTION_DIMENSIONS.includes(nextAction.dimension)) {
    throw invalid(`nextActionDimension must be one of ${NEXT_ACTION_DIMENSIONS.join(', ')}; received ${nextAction.dimension}.`, 'funnelNextAction');
  }
  const vt = r.funnelVisualizationType === undefined ? 'STANDARD_FUNNEL' : enumName(FUNNEL_VISUALIZATION_TYPE, r.funnelVisualizationType);
  if (!vt) throw badEnum('funnel_visualization_type', 'RunFunnelReportRequest.FunnelVisualizationType', r.funnelVisualizationType);

  const limit = int64(r.limit, 'limit') ?? DEFAULT_FUNNEL_LIMIT;
  if (limit <= 0) throw invalid(`limit must be positive; received ${limit}.`, 'limit');

  const dimensionFilter = r.dimensionFilter == null ? undefined : parseFilterExpr(r.dimensionFilter, 'dimension_filter', 1);
  if (dimensionFilter) checkFilterFields(dimensionFilter, 'dimension', []);
  // the step filters count against the same bounds as a report's filters
  checkFilterSize([dimensionFilter, ...steps.map((s) => asFilterExpr(s.filter))]);
  return {
    dateRanges,
    isOpenFunnel: bool(f.isOpenFunnel, 'funnel.is_open_funnel'),
    steps,
    breakdown,
    nextAction,
    trended: vt === 'TRENDED_FUNNEL',
    dimensionFilter,
    limit: Math.min(limit, MAX_FUNNEL_LIMIT),
    returnPropertyQuota: bool(r.returnPropertyQuota, 'return_property_quota'),
  };
}

function parseStep(value: unknown, path: string, index: number): FunnelStep {
  const s = object(value, path, ['name', 'isDirectlyFollowedBy', 'withinDurationFromPriorStep', 'filterExpression']);
  const name = optionalString(s.name, `${path}.name`) ?? '';
  if (s.filterExpression == null) throw invalid(`${path}.filterExpression is required.`, `${path}.filter_expression`);
  const withinMs = s.withinDurationFromPriorStep == null ? undefined : parseDuration(s.withinDurationFromPriorStep, `${path}.within_duration_from_prior_step`);
  const directlyFollowed = bool(s.isDirectlyFollowedBy, `${path}.is_directly_followed_by`);
  return {
    label: `${index + 1}. ${name}`,
    directlyFollowed,
    withinMs,
    filter: parseStepExpr(s.filterExpression, `${path}.filter_expression`, 1),
  };
}

/** google.protobuf.Duration in JSON: "300s", "1.5s", "-0s" refused; at most 10,000 years as proto allows. */
export function parseDuration(value: unknown, path: string): number {
  const m = typeof value === 'string' ? /^(\d{1,12})(?:\.(\d{1,9}))?s$/.exec(value) : null;
  if (!m) throw invalid(`Invalid value at '${path}' (type.googleapis.com/google.protobuf.Duration), ${JSON.stringify(value)}.`, path);
  const ms = Number(m[1]) * 1000 + Math.floor(Number(`0.${m[2] ?? '0'}`) * 1000);
  if (ms > 315_576_000_000_000) throw invalid(`${path} is longer than google.protobuf.Duration allows.`, path);
  return ms;
}

const STEP_KEYS = ['andGroup', 'orGroup', 'notExpression', 'funnelFieldFilter', 'funnelEventFilter'] as const;

function parseStepExpr(value: unknown, path: string, depth: number): StepExpr {
  if (depth > 16) throw invalid(`Filter expressions are limited to 16 levels of nesting (at ${path}).`, path);
  const e = object(value, path, STEP_KEYS);
  const set = STEP_KEYS.filter((k) => e[k] != null);
  if (set.length !== 1) throw invalid(`${path} must set exactly one of ${STEP_KEYS.join(', ')}.`, path);
  switch (set[0]) {
    case 'andGroup':
    case 'orGroup': {
      const key = set[0];
      const p = `${path}.${key === 'andGroup' ? 'and_group' : 'or_group'}`;
      const expressions = list(object(e[key], p, ['expressions']).expressions, `${p}.expressions`).map((x, i) =>
        parseStepExpr(x, `${p}.expressions[${i}]`, depth + 1),
      );
      if (expressions.length === 0) throw invalid(`${p}.expressions must not be empty.`, p);
      return { kind: key === 'andGroup' ? 'and' : 'or', expressions };
    }
    case 'notExpression':
      return { kind: 'not', expression: parseStepExpr(e.notExpression, `${path}.not_expression`, depth + 1) };
    case 'funnelFieldFilter': {
      const p = `${path}.funnel_field_filter`;
      const filter = parseFilter(e.funnelFieldFilter, p);
      if (filter.kind === 'empty') throw invalid(`${p} must set one of stringFilter, inListFilter, numericFilter, betweenFilter.`, p);
      const def = findDimension(filter.fieldName);
      if (!def) {
        throw findMetric(filter.fieldName)
          ? invalid(`Field ${filter.fieldName}: Tally answers funnel field filters on dimensions only.`, p)
          : unknownDimensionError(filter.fieldName);
      }
      if (def.needsFirstSession) throw invalid(`Field ${filter.fieldName} cannot be used in a funnel step.`, p);
      return { kind: 'field', filter };
    }
    default: {
      const p = `${path}.funnel_event_filter`;
      const ef = object(e.funnelEventFilter, p, ['eventName', 'funnelParameterFilterExpression']);
      const eventName = optionalString(ef.eventName, `${p}.event_name`);
      if (!eventName) throw invalid(`${p}.eventName is required.`, `${p}.event_name`);
      const raw = ef.funnelParameterFilterExpression;
      return { kind: 'event', eventName, params: raw == null ? undefined : parseParamExpr(raw, `${p}.funnel_parameter_filter_expression`, depth + 1) };
    }
  }
}

const PARAM_KEYS = ['andGroup', 'orGroup', 'notExpression', 'funnelParameterFilter'] as const;

function parseParamExpr(value: unknown, path: string, depth: number): ParamExpr {
  if (depth > 16) throw invalid(`Filter expressions are limited to 16 levels of nesting (at ${path}).`, path);
  const e = object(value, path, PARAM_KEYS);
  const set = PARAM_KEYS.filter((k) => e[k] != null);
  if (set.length !== 1) throw invalid(`${path} must set exactly one of ${PARAM_KEYS.join(', ')}.`, path);
  if (set[0] === 'andGroup' || set[0] === 'orGroup') {
    const key = set[0];
    const p = `${path}.${key === 'andGroup' ? 'and_group' : 'or_group'}`;
    const expressions = list(object(e[key], p, ['expressions']).expressions, `${p}.expressions`).map((x, i) =>
      parseParamExpr(x, `${p}.expressions[${i}]`, depth + 1),
    );
    if (expressions.length === 0) throw invalid(`${p}.expressions must not be empty.`, p);
    return { kind: key === 'andGroup' ? 'and' : 'or', expressions };
  }
  if (set[0] === 'notExpression') return { kind: 'not', expression: parseParamExpr(e.notExpression, `${path}.not_expression`, depth + 1) };
  const p = `${path}.funnel_parameter_filter`;
  const { eventParameterName, itemParameterName, ...rest } = object(e.funnelParameterFilter, p, [
    'eventParameterName',
    'itemParameterName',
    'stringFilter',
    'inListFilter',
    'numericFilter',
    'betweenFilter',
  ]);
  if (itemParameterName != null) throw invalid('Tally does not answer item parameter filters in funnels yet.', `${p}.item_parameter_name`);
  const name = optionalString(eventParameterName, `${p}.event_parameter_name`);
  if (!name || !PARAM_NAME.test(name)) throw invalid(`${p}.eventParameterName is required: letters, digits and underscores.`, `${p}.event_parameter_name`);
  return { kind: 'filter', filter: parseFilter({ fieldName: name, ...rest }, p) };
}

function parseAdded(value: unknown, path: string, key: 'breakdownDimension' | 'nextActionDimension', max: number) {
  const o = object(value, path, [key, 'limit']);
  const d = object(o[key], `${path}.${key}`, ['name', 'dimensionExpression']);
  if (d.dimensionExpression != null) throw invalid(`${path}.${key} cannot be a dimension expression.`, path);
  const name = optionalString(d.name, `${path}.${key}.name`);
  if (!name) throw invalid(`A valid ${key} is required when ${path} is specified.`, path);
  const def = findDimension(name);
  if (!def) throw unknownDimensionError(name);
  if (def.needsFirstSession) throw invalid(`Field ${name} cannot be used as a funnel ${key}.`, path);
  const limit = int64(o.limit, `${path}.limit`) ?? 5;
  if (limit <= 0 || limit > max) throw invalid(`${path}.limit must exceed zero and cannot exceed ${max}.`, `${path}.limit`);
  return { dimension: def.apiName, limit };
}

/** The step filters' leaves as a FilterExpr, for the request bounds (terms, inList values, regexes). */
export function asFilterExpr(e: StepExpr): FilterExpr {
  switch (e.kind) {
    case 'and':
    case 'or':
      return { kind: e.kind, expressions: e.expressions.map(asFilterExpr) };
    case 'not':
      return { kind: 'not', expression: asFilterExpr(e.expression) };
    case 'field':
      return { kind: 'filter', filter: e.filter };
    default: {
      const name: FilterExpr = {
        kind: 'filter',
        filter: { fieldName: 'eventName', kind: 'string', matchType: 'EXACT', value: e.eventName, caseSensitive: true },
      };
      return e.params ? { kind: 'and', expressions: [name, e.params] } : name;
    }
  }
}
