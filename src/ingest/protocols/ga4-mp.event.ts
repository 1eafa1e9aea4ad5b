import type { ParamValue } from '../../domain/raw-event.js';
import { DROPPED_PARAM, type ParsedEvent } from '../parsed-event.js';
import {
  GA4_MP_LIMITS as LIMITS,
  NAME_PATTERN,
  RESERVED_APP_EVENT_NAMES,
  RESERVED_EVENT_NAMES,
  RESERVED_PARAM_NAMES,
  RESERVED_PARAM_PREFIXES,
  STANDARD_ITEM_PARAMS,
} from './ga4-mp.limits.js';
import { Findings, cloneParam, toParamValue, type Problem, type ValidationMessage } from './ga4-mp.findings.js';
import { checkName, fromEntries, isObject, isScalar, optionalMicros, preview, typeName, withinLength } from './ga4-mp.fields.js';
import type { RequestScope } from './ga4-mp.request.js';
import { setOwn } from './own-property.js';

/** GA4 Measurement Protocol: one event of a request (name, params, items, time) -> ParsedEvent. */

/** Params key holding user properties' own `timestamp_micros`, by user property name. */
export const USER_PROPERTY_TIMESTAMPS_PARAM = '_tally_user_property_timestamps';

const TALLY_KEYS: ReadonlySet<string> = new Set([DROPPED_PARAM, USER_PROPERTY_TIMESTAMPS_PARAM]);
const KNOWN_EVENT_FIELDS: ReadonlySet<string> = new Set(['name', 'params', 'timestamp_micros']);
const COLUMN_PARAMS = { page_location: 'url', page_referrer: 'referrer', page_title: 'title' } as const;

export interface EventOutcome {
  problems: Problem[];
  event: ParsedEvent | null;
  notices: ValidationMessage[];
}

export function parseEvent(raw: unknown, index: number, scope: RequestScope, receivedAt: number): EventOutcome {
  const base = `events[${index}]`;
  const f = new Findings(scope.findings.mode);
  if (!isObject(raw)) {
    f.fail(base, `Event at index: [${index}] must be an object with a name.`, 'VALUE_INVALID');
    return { problems: f.problems, event: null, notices: [] };
  }

  const name = checkEventName(raw.name, index, scope.isApp, f);
  const ownMicros = optionalMicros(raw.timestamp_micros, `${base}.timestamp_micros`, f);
  const kept = parseParams(raw.params, base, f);

  const event: ParsedEvent = {
    event_id: null,
    protocol: 'ga4mp',
    client_ts: null,
    name: name ?? '',
    client_id: scope.clientId,
    user_id: scope.userId,
    session_id: null,
    url: null,
    referrer: null,
    title: null,
    ua: scope.ua,
    ip: scope.ip,
    geo: scope.geo ? { ...scope.geo } : null,
    language: scope.language,
    screen: scope.screen,
    consent: scope.consent ? { ...scope.consent } : null,
    params: {},
    user_props: {},
  };

  const params = event.params;
  for (const [key, value] of kept) {
    if (key === 'session_id' && (typeof value === 'string' || typeof value === 'number')) {
      event.session_id = String(value);
    } else if (Object.hasOwn(COLUMN_PARAMS, key) && typeof value === 'string') {
      event[COLUMN_PARAMS[key as keyof typeof COLUMN_PARAMS]] = value;
    } else setOwn(params, key, value);
  }
  const extras: Array<[string, string, ParamValue]> = [];
  for (const key of Object.keys(raw)) {
    if (KNOWN_EVENT_FIELDS.has(key)) continue;
    const v = toParamValue(raw[key]);
    if (v === undefined) f.fail(`${base}.${key}`, `Field [${key}] of event at index: [${index}] is nested too deeply.`, 'VALUE_INVALID');
    else extras.push([`${base}.${key}`, key, v]);
  }
  for (const [key, value] of scope.sharedParams) extras.push([key, key, cloneParam(value)]);
  for (const [path, key, value] of extras) {
    if (Object.hasOwn(params, key) || TALLY_KEYS.has(key)) f.dropped.push([path, value]);
    else setOwn(params, key, value);
  }

  event.client_ts = clientTs(ownMicros, base, scope, receivedAt, f);

  for (const [key, value] of scope.userProps) setOwn(event.user_props, key, value);
  if (scope.userPropTimestamps.length > 0) setOwn(params, USER_PROPERTY_TIMESTAMPS_PARAM, fromEntries(scope.userPropTimestamps));
  const dropped = [...scope.findings.dropped, ...f.dropped];
  if (dropped.length > 0) setOwn(params, DROPPED_PARAM, fromEntries(dropped.map(([k, v]) => [k, cloneParam(v)])));

  return { problems: f.problems, event: f.problems.length === 0 && name !== null ? event : null, notices: f.notices };
}

function checkEventName(raw: unknown, index: number, isApp: boolean, f: Findings): string | null {
  const path = `events[${index}].name`;
  if (raw === undefined || raw === null || raw === '') {
    f.fail(path, `Event at index: [${index}] has no name. Every event requires a name.`, 'VALUE_REQUIRED');
    return null;
  }
  if (typeof raw !== 'string') {
    f.fail(path, `Event at index: [${index}] has a name of type [${typeName(raw)}]; names must be strings.`, 'VALUE_INVALID');
    return null;
  }
  if (RESERVED_EVENT_NAMES.has(raw) || (isApp && RESERVED_APP_EVENT_NAMES.has(raw))) {
    f.fail(path, `Event at index: [${index}] has name [${raw}] which is reserved.`, 'NAME_RESERVED');
    return null;
  }
  if (!NAME_PATTERN.test(raw)) {
    f.fail(
      path,
      `Event at index: [${index}] has invalid name [${preview(raw)}]. Names must start with an alphabetic character and contain only alphanumeric characters and underscores.`,
      'NAME_INVALID',
    );
    return null;
  }
  if (raw.length > LIMITS.maxEventNameLength) {
    f.fail(
      path,
      `Event at index: [${index}] has invalid name [${preview(raw)}]. Names must be at most ${LIMITS.maxEventNameLength} characters.`,
      'NAME_INVALID',
    );
    return null;
  }
  return raw;
}

/** Validates an event's params; returns the ones kept, in order. */
function parseParams(raw: unknown, base: string, f: Findings): Array<[string, ParamValue]> {
  const kept: Array<[string, ParamValue]> = [];
  if (raw === undefined || raw === null) return kept;
  const path = `${base}.params`;
  if (!isObject(raw)) {
    f.fail(path, 'params must be an object of name -> value.', 'VALUE_INVALID');
    return kept;
  }
  let overCount = 0;
  for (const name of Object.keys(raw)) {
    const paramPath = `${path}.${name}`;
    if (!checkName(name, paramPath, 'Event param', LIMITS.maxParamNameLength, RESERVED_PARAM_NAMES, RESERVED_PARAM_PREFIXES, f)) continue;
    const value = raw[name];
    let checked: ParamValue | undefined;
    if (name === 'items') checked = parseItems(value, paramPath, f);
    else if (value === null) checked = null;
    else if (isScalar(value)) checked = withinLength(name, value, paramPath, f) ? value : undefined;
    else {
      f.fail(paramPath, `Event param [${name}] has an invalid value; values must be strings, numbers or booleans (arrays only for items).`, 'VALUE_INVALID');
    }
    if (checked === undefined) continue;
    if (kept.length >= LIMITS.maxParamsPerEvent) {
      overCount++;
      if (f.mode === 'RELAXED') f.keep(paramPath, checked);
      continue;
    }
    kept.push([name, checked]);
  }
  if (overCount > 0 && f.mode === 'ENFORCE_RECOMMENDATIONS') {
    f.fail(
      path,
      `An event can have at most ${LIMITS.maxParamsPerEvent} params; this one has [${LIMITS.maxParamsPerEvent + overCount}].`,
      'EXCEEDED_MAX_ENTITIES',
    );
  }
  return kept;
}

function parseItems(raw: unknown, path: string, f: Findings): ParamValue | undefined {
  if (!Array.isArray(raw)) {
    f.fail(path, 'items must be an array of item objects.', 'VALUE_INVALID');
    return undefined;
  }
  const items: ParamValue[] = [];
  let valid = true;
  raw.forEach((item, i) => {
    const itemPath = `${path}[${i}]`;
    if (!isObject(item)) {
      f.fail(itemPath, `Item at index: [${i}] must be an object.`, 'VALUE_INVALID');
      valid = false;
      return;
    }
    const out: Record<string, ParamValue> = {};
    let custom = 0;
    for (const key of Object.keys(item)) {
      const keyPath = `${itemPath}.${key}`;
      if (!checkName(key, keyPath, 'Item param', LIMITS.maxParamNameLength, RESERVED_PARAM_NAMES, RESERVED_PARAM_PREFIXES, f)) {
        valid = false;
        continue;
      }
      const value = item[key];
      if (value !== null && !isScalar(value)) {
        f.fail(keyPath, `Item param [${key}] has an invalid value; values must be strings, numbers or booleans.`, 'VALUE_INVALID');
        valid = false;
        continue;
      }
      if (value !== null && !withinLength(key, value, keyPath, f)) continue;
      if (!STANDARD_ITEM_PARAMS.has(key) && ++custom > LIMITS.maxCustomItemParams) {
        f.overLimit(keyPath, `An item can have at most ${LIMITS.maxCustomItemParams} custom params.`, 'EXCEEDED_MAX_ENTITIES', value);
        continue;
      }
      setOwn(out, key, value);
    }
    items.push(out);
  });
  return valid ? items : undefined;
}

/**
 * Event time in epoch ms: the event's own timestamp_micros, else the request's, else null.
 * Future times are clamped to receipt; times older than 72 h are clamped (RELAXED) or refused.
 */
function clientTs(ownMicros: number | null, base: string, scope: RequestScope, receivedAt: number, f: Findings): number | null {
  const micros = ownMicros ?? scope.timestampMicros;
  if (micros === null) return null;
  const path = ownMicros !== null ? `${base}.timestamp_micros` : 'timestamp_micros';
  const ms = Math.floor(micros / 1000);
  if (ms > receivedAt) {
    f.keep(path, micros);
    f.notice(
      path,
      `${path} is in the future: /mp/collect re-dates the event to the time it is received (the original is kept in params.${DROPPED_PARAM}).`,
      'VALUE_OUT_OF_BOUNDS',
    );
    return receivedAt;
  }
  const oldest = receivedAt - LIMITS.maxPastMs;
  if (ms < oldest) {
    f.overLimit(path, 'Timestamps must be at most 72 hours in the past.', 'VALUE_OUT_OF_BOUNDS', micros);
    if (f.mode === 'RELAXED') {
      f.notice(
        path,
        `${path} is more than 72 hours in the past: /mp/collect re-dates the event to 72 hours before it is received (the original is kept in params.${DROPPED_PARAM}); with validation_behavior ENFORCE_RECOMMENDATIONS it refuses it.`,
        'VALUE_OUT_OF_BOUNDS',
      );
    }
    return oldest;
  }
  return ms;
}
