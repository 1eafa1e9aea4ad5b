import { isIP } from 'node:net';
import type { DeadLetterReason, ParamValue } from '../../domain/raw-event.js';
import { TallyError } from '../../infra/errors.js';
import { DROPPED_PARAM, type ParsedEvent, type RefusedEvent } from '../parsed-event.js';
import {
  GA4_MP_LIMITS as LIMITS,
  NAME_PATTERN,
  PARAM_VALUE_LENGTH_EXEMPT,
  PARAM_VALUE_LENGTH_OVERRIDES,
  RESERVED_APP_EVENT_NAMES,
  RESERVED_EVENT_NAMES,
  RESERVED_PARAM_NAMES,
  RESERVED_PARAM_PREFIXES,
  RESERVED_USER_PROPERTY_NAMES,
  RESERVED_USER_PROPERTY_PREFIXES,
  STANDARD_ITEM_PARAMS,
} from './ga4-mp.limits.js';
import { setOwn } from './own-property.js';
import { toParamValue as toParamValueBy, type ParamValueRules } from './param-value.js';

/**
 * GA4 Measurement Protocol (`/mp/collect`, `/debug/mp/collect`): request body -> ParsedEvents,
 * refused events and GA-style validation messages. Pure; PROTOCOLS.md §1 is the reference.
 */

export type ValidationCode =
  | 'VALUE_INVALID'
  | 'VALUE_REQUIRED'
  | 'NAME_INVALID'
  | 'NAME_RESERVED'
  | 'VALUE_OUT_OF_BOUNDS'
  | 'EXCEEDED_MAX_ENTITIES'
  | 'NAME_DUPLICATED';

export interface ValidationMessage {
  fieldPath: string;
  description: string;
  validationCode: ValidationCode;
}

export interface Ga4MpParseResult {
  events: ParsedEvent[];
  refused: RefusedEvent[];
  validationMessages: ValidationMessage[];
  /**
   * What `/mp/collect` changes in accepted events without refusing them (a timestamp re-dated
   * into the accepted window); `/debug/mp/collect` reports these with the validation messages.
   */
  notices: ValidationMessage[];
}

export type Ga4MpValidationBehavior = 'RELAXED' | 'ENFORCE_RECOMMENDATIONS';

/**
 * Params key holding what Tally removed or replaced, keyed by GA field path
 * (`events[0].params.long_text`, `user_id`, `timestamp_micros` before clamping, ...).
 * GA reserves the `_` prefix, so no valid client param can collide with it.
 */
/** Params key holding user properties' own `timestamp_micros`, by user property name. */
export const USER_PROPERTY_TIMESTAMPS_PARAM = '_tally_user_property_timestamps';

const TALLY_KEYS: ReadonlySet<string> = new Set([DROPPED_PARAM, USER_PROPERTY_TIMESTAMPS_PARAM]);

const KNOWN_TOP_LEVEL: ReadonlySet<string> = new Set([
  'client_id',
  'app_instance_id',
  'user_id',
  'timestamp_micros',
  'user_properties',
  'user_data',
  'consent',
  'user_location',
  'ip_override',
  'device',
  'user_agent',
  'validation_behavior',
  'events',
]);
const KNOWN_EVENT_FIELDS: ReadonlySet<string> = new Set(['name', 'params', 'timestamp_micros']);
const DEVICE_FIELDS = [
  'category',
  'language',
  'screen_resolution',
  'operating_system',
  'operating_system_version',
  'model',
  'brand',
  'browser',
  'browser_version',
] as const;
const LOCATION_FIELDS = ['city', 'region_id', 'country_id', 'subcontinent_id', 'continent_id'] as const;
const CONSENT_VALUES: ReadonlySet<string> = new Set(['GRANTED', 'DENIED']);
const SCREEN_PATTERN = /^\d{1,5}x\d{1,5}$/;
const COUNTRY_PATTERN = /^[A-Za-z]{2}$/;
const COLUMN_PARAMS = { page_location: 'url', page_referrer: 'referrer', page_title: 'title' } as const;

type Json = Record<string, unknown>;

interface Problem extends ValidationMessage {
  reason: DeadLetterReason;
}

const REASON: Record<ValidationCode, DeadLetterReason> = {
  VALUE_INVALID: 'invalid',
  VALUE_REQUIRED: 'invalid',
  NAME_INVALID: 'invalid',
  NAME_DUPLICATED: 'invalid',
  NAME_RESERVED: 'name_reserved',
  VALUE_OUT_OF_BOUNDS: 'over_limit',
  EXCEEDED_MAX_ENTITIES: 'over_limit',
};

/** Problems found in one scope (the request, or one event) and what was dropped from it. */
class Findings {
  readonly problems: Problem[] = [];
  readonly dropped: Array<[string, ParamValue]> = [];
  readonly notices: ValidationMessage[] = [];

  constructor(readonly mode: Ga4MpValidationBehavior) {}

  /** A change made to an accepted event, for `/debug/mp/collect` to report. */
  notice(fieldPath: string, description: string, validationCode: ValidationCode): void {
    this.notices.push({ fieldPath, description, validationCode });
  }

  fail(fieldPath: string, description: string, validationCode: ValidationCode): void {
    this.problems.push({ fieldPath, description, validationCode, reason: REASON[validationCode] });
  }

  /** Over a GA limit: RELAXED keeps the event and records the value here; ENFORCE refuses. */
  overLimit(fieldPath: string, description: string, validationCode: ValidationCode, value: unknown): void {
    if (this.mode === 'ENFORCE_RECOMMENDATIONS') this.fail(fieldPath, description, validationCode);
    else this.keep(fieldPath, value);
  }

  /** Records a value that has no place of its own in the event any more. */
  keep(fieldPath: string, value: unknown): void {
    const v = toParamValue(value);
    if (v === undefined) this.fail(fieldPath, `Value of [${fieldPath}] is nested too deeply or not JSON.`, 'VALUE_INVALID');
    else this.dropped.push([fieldPath, v]);
  }
}

/** The request-level part shared by every event of the request. */
interface RequestScope {
  findings: Findings;
  clientId: string | null;
  isApp: boolean;
  userId: string | null;
  timestampMicros: number | null;
  consent: Record<string, string> | null;
  geo: ParsedEvent['geo'];
  ip: string | null;
  ua: string | null;
  language: string | null;
  screen: string | null;
  /** Request-level values kept in each event's params (device, user_location, unknown fields, ...). */
  sharedParams: Array<[string, ParamValue]>;
  userProps: Array<[string, ParamValue]>;
  userPropTimestamps: Array<[string, ParamValue]>;
}

export function parseGa4MpBody(bytes: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw malformed('The body is not valid UTF-8.', 'invalid_utf8', cause);
  }
  if (text.trim() === '') throw malformed('The body is empty; expected a JSON object.', 'empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw malformed('The body is not valid JSON.', 'syntax', cause);
  }
  if (!isObject(value)) throw malformed('The body must be a JSON object.', 'not_an_object');
  return value;
}

function malformed(message: string, problem: string, cause?: unknown): TallyError {
  return new TallyError('malformed_body', message, { reason: 'invalid_json', problem }, cause ? { cause } : undefined);
}

export function parseGa4Mp(body: unknown, ctx: { receivedAt: number }): Ga4MpParseResult {
  try {
    return parse(body, ctx.receivedAt);
  } catch (error) {
    // Only reachable with non-JSON input (proxies, throwing getters): refuse, never throw.
    const message = error instanceof Error ? error.message : String(error);
    return {
      events: [],
      refused: [{ index: -1, reason: 'invalid', detail: `internal parser error: ${message}`, payload: body }],
      validationMessages: [{ fieldPath: '', description: 'The request could not be read.', validationCode: 'VALUE_INVALID' }],
      notices: [],
    };
  }
}

function parse(body: unknown, receivedAt: number): Ga4MpParseResult {
  if (!isObject(body)) {
    const description = 'The request body must be a JSON object.';
    return {
      events: [],
      refused: [{ index: -1, reason: 'malformed_body', detail: description, payload: body }],
      validationMessages: [{ fieldPath: '', description, validationCode: 'VALUE_INVALID' }],
      notices: [],
    };
  }

  const scope = parseRequest(body);
  const events = body.events;
  const result: Ga4MpParseResult = { events: [], refused: [], validationMessages: [], notices: [] };
  const messages: Problem[] = [...scope.findings.problems];

  if (!Array.isArray(events) || events.length === 0) {
    result.refused.push({ index: -1, ...refusal(scope.findings.problems), payload: body });
    result.validationMessages = toMessages(messages);
    return result;
  }

  events.forEach((raw, index) => {
    const outcome = parseEvent(raw, index, scope, receivedAt);
    messages.push(...outcome.problems);
    const problems = [...scope.findings.problems, ...outcome.problems];
    if (problems.length > 0) result.refused.push({ index, ...refusal(problems), payload: { ...body, events: [raw] } });
    else if (outcome.event) {
      result.events.push(outcome.event);
      if (outcome.notices.length) result.notices.push(...outcome.notices);
    }
  });
  result.validationMessages = toMessages(messages);
  return result;
}

function refusal(problems: Problem[]): { reason: DeadLetterReason; detail: string } {
  const detail = problems
    .slice(0, 10)
    .map((p) => `${p.fieldPath || '(body)'}: ${p.description}`)
    .join('; ');
  return { reason: problems[0]?.reason ?? 'invalid', detail };
}

function toMessages(problems: Problem[]): ValidationMessage[] {
  const seen = new Set<string>();
  const out: ValidationMessage[] = [];
  for (const { fieldPath, description, validationCode } of problems) {
    const key = `${fieldPath}\u0000${validationCode}\u0000${description}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ fieldPath, description, validationCode });
    if (out.length >= LIMITS.maxValidationMessages) break;
  }
  return out;
}

function parseRequest(body: Json): RequestScope {
  let mode: Ga4MpValidationBehavior = 'RELAXED';
  const vb = body.validation_behavior;
  const modeProblem = vb !== undefined && vb !== null && vb !== 'RELAXED' && vb !== 'ENFORCE_RECOMMENDATIONS';
  if (vb === 'ENFORCE_RECOMMENDATIONS') mode = vb;
  const f = new Findings(mode);
  if (modeProblem) {
    f.fail(
      'validation_behavior',
      `validation_behavior must be RELAXED or ENFORCE_RECOMMENDATIONS; got [${preview(vb)}].`,
      'VALUE_INVALID',
    );
  }

  const scope: RequestScope = {
    findings: f,
    clientId: null,
    isApp: false,
    userId: null,
    timestampMicros: null,
    consent: null,
    geo: null,
    ip: null,
    ua: null,
    language: null,
    screen: null,
    sharedParams: [],
    userProps: [],
    userPropTimestamps: [],
  };

  const clientId = optionalString(body, 'client_id', '', f);
  const appInstanceId = optionalString(body, 'app_instance_id', '', f);
  if (clientId) {
    scope.clientId = clientId;
    if (appInstanceId) scope.sharedParams.push(['app_instance_id', appInstanceId]);
  } else if (appInstanceId) {
    scope.clientId = appInstanceId;
    scope.isApp = true;
  } else if (clientId !== null && appInstanceId !== null) {
    f.fail('client_id', 'Measurement requires a client_id (web streams) or an app_instance_id (app streams).', 'VALUE_REQUIRED');
  }

  const userId = optionalString(body, 'user_id', '', f);
  if (userId && codePointLength(userId, LIMITS.maxUserIdLength) > LIMITS.maxUserIdLength) {
    f.overLimit('user_id', `user_id must be at most ${LIMITS.maxUserIdLength} characters.`, 'VALUE_OUT_OF_BOUNDS', userId);
  } else scope.userId = userId || null;

  scope.timestampMicros = optionalMicros(body.timestamp_micros, 'timestamp_micros', f);
  parseUserProperties(body.user_properties, scope);
  parseConsent(body.consent, scope);
  parseLocation(body.user_location, scope);
  parseDevice(body, scope);

  const ip = optionalString(body, 'ip_override', '', f);
  if (ip) {
    if (isIP(ip) === 0) f.fail('ip_override', `ip_override [${preview(ip)}] is not an IPv4 or IPv6 address.`, 'VALUE_INVALID');
    else scope.ip = ip;
  }

  // user_data is hashed PII (email, phone, address) for ads matching; Tally does not keep it,
  // only the fact that it was sent.
  if (body.user_data !== undefined && body.user_data !== null) scope.sharedParams.push(['user_data', { present: true }]);

  checkEvents(body.events, f);

  for (const key of Object.keys(body)) {
    if (KNOWN_TOP_LEVEL.has(key)) continue;
    const v = toParamValue(body[key]);
    if (v === undefined) f.fail(key, `Field [${key}] is nested too deeply or not JSON.`, 'VALUE_INVALID');
    else scope.sharedParams.push([key, v]);
  }
  return scope;
}

function checkEvents(events: unknown, f: Findings): void {
  if (events === undefined || events === null) f.fail('events', 'Measurement requires at least one event.', 'VALUE_REQUIRED');
  else if (!Array.isArray(events)) f.fail('events', 'events must be an array of event objects.', 'VALUE_INVALID');
  else if (events.length === 0) f.fail('events', 'Measurement requires at least one event.', 'VALUE_REQUIRED');
  else if (events.length > LIMITS.maxEventsPerRequest) {
    f.fail(
      'events',
      `A request can have at most ${LIMITS.maxEventsPerRequest} events; this one has [${events.length}].`,
      'EXCEEDED_MAX_ENTITIES',
    );
  }
}

function parseUserProperties(raw: unknown, scope: RequestScope): void {
  const f = scope.findings;
  if (raw === undefined || raw === null) return;
  if (!isObject(raw)) {
    f.fail('user_properties', 'user_properties must be an object of {"<name>": {"value": ...}}.', 'VALUE_INVALID');
    return;
  }
  let overflow = 0;
  for (const name of Object.keys(raw)) {
    const path = `user_properties.${name}`;
    if (!checkName(name, path, 'User property', LIMITS.maxUserPropertyNameLength, RESERVED_USER_PROPERTY_NAMES, RESERVED_USER_PROPERTY_PREFIXES, f)) {
      continue;
    }
    const entry = raw[name];
    if (!isObject(entry)) {
      f.fail(path, `User property [${name}] must be an object with a value, e.g. {"value": "gold"}.`, 'VALUE_INVALID');
      continue;
    }
    const value = entry.value;
    if (value === undefined) {
      f.fail(`${path}.value`, `User property [${name}] requires a value.`, 'VALUE_REQUIRED');
      continue;
    }
    if (value !== null && !isScalar(value)) {
      f.fail(`${path}.value`, `User property [${name}] must have a string, number or boolean value.`, 'VALUE_INVALID');
      continue;
    }
    const ts = optionalMicros(entry.timestamp_micros, `${path}.timestamp_micros`, f);
    for (const key of Object.keys(entry)) if (key !== 'value' && key !== 'timestamp_micros') f.keep(`${path}.${key}`, entry[key]);

    if (scope.userProps.length >= LIMITS.maxUserProperties) {
      overflow++;
      if (f.mode === 'RELAXED') f.keep(path, entry);
      continue;
    }
    if (typeof value === 'string' && codePointLength(value, LIMITS.maxUserPropertyValueLength) > LIMITS.maxUserPropertyValueLength) {
      f.overLimit(
        `${path}.value`,
        `Value of user property [${name}] must be at most ${LIMITS.maxUserPropertyValueLength} characters.`,
        'VALUE_OUT_OF_BOUNDS',
        value,
      );
      continue;
    }
    scope.userProps.push([name, value]);
    if (ts !== null) scope.userPropTimestamps.push([name, ts]);
  }
  if (overflow > 0 && f.mode === 'ENFORCE_RECOMMENDATIONS') {
    f.fail(
      'user_properties',
      `A request can have at most ${LIMITS.maxUserProperties} user properties; this one has [${LIMITS.maxUserProperties + overflow}].`,
      'EXCEEDED_MAX_ENTITIES',
    );
  }
}

function parseConsent(raw: unknown, scope: RequestScope): void {
  const f = scope.findings;
  if (raw === undefined || raw === null) return;
  if (!isObject(raw)) {
    f.fail('consent', 'consent must be an object, e.g. {"ad_user_data": "GRANTED"}.', 'VALUE_INVALID');
    return;
  }
  const consent: Record<string, string> = {};
  for (const key of Object.keys(raw)) {
    const v = raw[key];
    const upper = typeof v === 'string' ? v.toUpperCase() : null;
    if (upper === null || !CONSENT_VALUES.has(upper)) {
      f.fail(`consent.${key}`, `consent.${key} must be GRANTED or DENIED; got [${preview(v)}].`, 'VALUE_INVALID');
    } else setOwn(consent, key, upper);
  }
  scope.consent = consent;
}

function parseLocation(raw: unknown, scope: RequestScope): void {
  const f = scope.findings;
  if (raw === undefined || raw === null) return;
  if (!isObject(raw)) {
    f.fail('user_location', 'user_location must be an object.', 'VALUE_INVALID');
    return;
  }
  const fields: Record<string, string | null> = {};
  for (const key of LOCATION_FIELDS) fields[key] = optionalString(raw, key, 'user_location.', f);
  let country = fields.country_id;
  if (country) {
    if (!COUNTRY_PATTERN.test(country)) {
      f.fail('user_location.country_id', `country_id must be an ISO 3166-1 alpha-2 code; got [${preview(country)}].`, 'VALUE_INVALID');
    }
    country = country.toUpperCase();
  }
  scope.geo = { country: country || null, region: fields.region_id || null, city: fields.city || null };
  const kept = toParamValue(raw);
  if (kept === undefined) f.fail('user_location', 'user_location is nested too deeply.', 'VALUE_INVALID');
  else scope.sharedParams.push(['user_location', kept]);
}

function parseDevice(body: Json, scope: RequestScope): void {
  const f = scope.findings;
  const ua = optionalString(body, 'user_agent', '', f);
  const device = body.device;
  if (device === undefined || device === null) {
    scope.ua = ua || null;
    return;
  }
  // GA ignores user_agent when device is present; Tally keeps it as a param.
  if (ua) scope.sharedParams.push(['user_agent', ua]);
  if (!isObject(device)) {
    f.fail('device', 'device must be an object.', 'VALUE_INVALID');
    return;
  }
  const fields: Record<string, string | null> = {};
  for (const key of DEVICE_FIELDS) fields[key] = optionalString(device, key, 'device.', f);
  scope.language = fields.language || null;
  const screen = fields.screen_resolution;
  if (screen && !SCREEN_PATTERN.test(screen)) {
    f.fail('device.screen_resolution', `screen_resolution must look like "1280x2856"; got [${preview(screen)}].`, 'VALUE_INVALID');
  }
  scope.screen = screen || null;
  const kept = toParamValue(device);
  if (kept === undefined) f.fail('device', 'device is nested too deeply.', 'VALUE_INVALID');
  else scope.sharedParams.push(['device', kept]);
}

interface EventOutcome {
  problems: Problem[];
  event: ParsedEvent | null;
  notices: ValidationMessage[];
}

function parseEvent(raw: unknown, index: number, scope: RequestScope, receivedAt: number): EventOutcome {
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
    f.fail(path, `An event can have at most ${LIMITS.maxParamsPerEvent} params; this one has [${LIMITS.maxParamsPerEvent + overCount}].`, 'EXCEEDED_MAX_ENTITIES');
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

/** False when the string is over its limit (then dropped in RELAXED, refused in ENFORCE). */
function withinLength(name: string, value: string | number | boolean, path: string, f: Findings): boolean {
  if (typeof value !== 'string' || PARAM_VALUE_LENGTH_EXEMPT.has(name)) return true;
  const max = Object.hasOwn(PARAM_VALUE_LENGTH_OVERRIDES, name) ? PARAM_VALUE_LENGTH_OVERRIDES[name] : LIMITS.maxParamValueLength;
  if (codePointLength(value, max) <= max) return true;
  f.overLimit(path, `Value of [${name}] must be at most ${max} characters.`, 'VALUE_OUT_OF_BOUNDS', value);
  return false;
}

function checkName(
  name: string,
  path: string,
  what: string,
  maxLength: number,
  reserved: ReadonlySet<string>,
  reservedPrefixes: readonly string[],
  f: Findings,
): boolean {
  if (reserved.has(name) || reservedPrefixes.some((p) => name.startsWith(p))) {
    f.fail(path, `${what} name [${preview(name)}] is reserved.`, 'NAME_RESERVED');
    return false;
  }
  if (!NAME_PATTERN.test(name)) {
    f.fail(
      path,
      `${what} name [${preview(name)}] is invalid. Names must start with an alphabetic character and contain only alphanumeric characters and underscores.`,
      'NAME_INVALID',
    );
    return false;
  }
  if (name.length > maxLength) {
    f.fail(path, `${what} name [${preview(name)}] is invalid. Names must be at most ${maxLength} characters.`, 'NAME_INVALID');
    return false;
  }
  return true;
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
    f.notice(path, `${path} is in the future: /mp/collect re-dates the event to the time it is received (the original is kept in params.${DROPPED_PARAM}).`, 'VALUE_OUT_OF_BOUNDS');
    return receivedAt;
  }
  const oldest = receivedAt - LIMITS.maxPastMs;
  if (ms < oldest) {
    f.overLimit(path, 'Timestamps must be at most 72 hours in the past.', 'VALUE_OUT_OF_BOUNDS', micros);
    if (f.mode === 'RELAXED') {
      f.notice(path, `${path} is more than 72 hours in the past: /mp/collect re-dates the event to 72 hours before it is received (the original is kept in params.${DROPPED_PARAM}); with validation_behavior ENFORCE_RECOMMENDATIONS it refuses it.`, 'VALUE_OUT_OF_BOUNDS');
    }
    return oldest;
  }
  return ms;
}

/** An int64 field: a JSON number, or (proto3 JSON's encoding of int64) a string of decimal digits. */
function optionalMicros(raw: unknown, path: string, f: Findings): number | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string' && /^\d{1,19}$/.test(raw)) raw = Number(raw);
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0) {
    f.fail(path, `${path} must be a non-negative number of microseconds since the epoch (a number or a string of digits); got [${preview(raw)}].`, 'VALUE_INVALID');
    return null;
  }
  return raw;
}

/** The string at `obj[key]`; '' or null when absent, null with a problem when of another type. */
function optionalString(obj: Json, key: string, prefix: string, f: Findings): string | null {
  const v = obj[key];
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  f.fail(`${prefix}${key}`, `${prefix}${key} must be a string; got [${typeName(v)}].`, 'VALUE_INVALID');
  return null;
}

/** A JSON-safe copy with own properties only; undefined when too deep or not JSON. */
const GA4_PARAM_RULES: ParamValueRules = { maxDepth: LIMITS.maxNestingDepth, unrepresentable: undefined };
const toParamValue = (v: unknown): ParamValue | undefined => toParamValueBy(v, GA4_PARAM_RULES);

function cloneParam(v: ParamValue): ParamValue {
  return toParamValue(v) as ParamValue;
}

function fromEntries(entries: Array<[string, ParamValue]>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [k, v] of entries) setOwn(out, k, v);
  return out;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Length in code points, counting no further than just past `max`. */
function codePointLength(s: string, max: number): number {
  if (s.length <= max) return s.length;
  let n = 0;
  for (const _ of s) if (++n > max) break;
  return n;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function preview(v: unknown): string {
  const s = typeof v === 'string' ? v : typeName(v);
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
