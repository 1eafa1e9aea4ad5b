import { isIP } from 'node:net';
import type { ParamValue } from '../../domain/raw-event.js';
import type { ParsedEvent } from '../parsed-event.js';
import { GA4_MP_LIMITS as LIMITS, RESERVED_USER_PROPERTY_NAMES, RESERVED_USER_PROPERTY_PREFIXES } from './ga4-mp.limits.js';
import { Findings, toParamValue, type Ga4MpValidationBehavior } from './ga4-mp.findings.js';
import { checkName, codePointLength, isObject, isScalar, optionalMicros, optionalObject, optionalString, preview, type Json } from './ga4-mp.fields.js';
import { setOwn } from './own-property.js';

/** GA4 Measurement Protocol: the request-level fields, shared by every event of the request. */

export const KNOWN_TOP_LEVEL: ReadonlySet<string> = new Set([
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

/** The request-level part shared by every event of the request. */
export interface RequestScope {
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

export function parseRequest(body: Json): RequestScope {
  let mode: Ga4MpValidationBehavior = 'RELAXED';
  const vb = body.validation_behavior;
  const modeProblem = vb !== undefined && vb !== null && vb !== 'RELAXED' && vb !== 'ENFORCE_RECOMMENDATIONS';
  if (vb === 'ENFORCE_RECOMMENDATIONS') mode = vb;
  const f = new Findings(mode);
  if (modeProblem) {
    f.fail('validation_behavior', `validation_behavior must be RELAXED or ENFORCE_RECOMMENDATIONS; got [${preview(vb)}].`, 'VALUE_INVALID');
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
    f.fail('events', `A request can have at most ${LIMITS.maxEventsPerRequest} events; this one has [${events.length}].`, 'EXCEEDED_MAX_ENTITIES');
  }
}

function parseUserProperties(value: unknown, scope: RequestScope): void {
  const f = scope.findings;
  const raw = optionalObject(value, 'user_properties', 'user_properties must be an object of {"<name>": {"value": ...}}.', f);
  if (raw === undefined) return;
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

function parseConsent(value: unknown, scope: RequestScope): void {
  const f = scope.findings;
  const raw = optionalObject(value, 'consent', 'consent must be an object, e.g. {"ad_user_data": "GRANTED"}.', f);
  if (raw === undefined) return;
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

function parseLocation(value: unknown, scope: RequestScope): void {
  const f = scope.findings;
  const raw = optionalObject(value, 'user_location', 'user_location must be an object.', f);
  if (raw === undefined) return;
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
