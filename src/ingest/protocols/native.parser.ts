import type { ParamValue } from '../../domain/raw-event.js';
import type { ParsedEvent, RefusedEvent } from '../parsed-event.js';
import { TallyError } from '../../infra/errors.js';
import { keepExtraFields, setOwn } from './own-property.js';
import { shallowCopy } from './shallow-copy.js';

/**
 * Tally's own batch format, `POST /v1/collect` with an ingest key:
 * `{ "events": [ { "name": "page_view", "client_id": "…", "timestamp": 1700000000000, … } ] }`.
 * Fields without a column of their own are kept in params; nothing is dropped silently.
 */
export const NATIVE_LIMITS = {
  maxEvents: 500,
  maxBodyBytes: 1024 * 1024,
  maxNameLength: 100,
  maxIdLength: 256,
  maxStringLength: 8192,
  maxLateMs: 72 * 3_600_000,
} as const;

const KNOWN = new Set([
  'event_id',
  'name',
  'client_id',
  'user_id',
  'session_id',
  'timestamp',
  'url',
  'referrer',
  'title',
  'user_agent',
  'ip',
  'language',
  'screen',
  'params',
  'user_props',
  'consent',
]);
const NAME = /^[A-Za-z0-9_$][A-Za-z0-9_.:$ -]*$/;

export interface NativeParseResult {
  events: ParsedEvent[];
  /** Index in the request for each accepted event, parallel to `events`. */
  indexes: number[];
  refused: RefusedEvent[];
}

export function parseNative(body: unknown, ctx: { receivedAt: number }): NativeParseResult {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new TallyError('malformed_body', 'the body must be a JSON object with an "events" array', { reason: 'not_an_object' });
  }
  const list = (body as { events?: unknown }).events;
  if (!Array.isArray(list)) throw new TallyError('malformed_body', '"events" must be an array', { reason: 'events_missing', field: 'events' });
  if (list.length === 0) throw new TallyError('invalid_argument', '"events" is empty', { reason: 'events_empty', field: 'events' });
  if (list.length > NATIVE_LIMITS.maxEvents) {
    throw new TallyError('invalid_argument', `at most ${NATIVE_LIMITS.maxEvents} events per request`, { reason: 'too_many_events', field: 'events' });
  }
  const out: NativeParseResult = { events: [], indexes: [], refused: [] };
  list.forEach((raw, index) => {
    const r = parseOne(raw, ctx.receivedAt);
    if (typeof r === 'string') out.refused.push({ index, reason: 'invalid', detail: r, payload: raw });
    else {
      out.events.push(r);
      out.indexes.push(index);
    }
  });
  return out;
}

function parseOne(raw: unknown, receivedAt: number): ParsedEvent | string {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'event must be an object';
  const e = raw as Record<string, unknown>;
  const name = e.name;
  if (typeof name !== 'string' || !name) return 'name: required string';
  if (name.length > NATIVE_LIMITS.maxNameLength || !NAME.test(name)) return 'name: invalid (letters, digits, _ . : $ - and spaces, at most 100)';

  const ids: Record<string, string | null> = {};
  for (const f of ['event_id', 'client_id', 'user_id', 'session_id'] as const) {
    const v = e[f];
    if (v === undefined || v === null || v === '') ids[f] = null;
    else if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) {
      const s = String(v);
      if (s.length > NATIVE_LIMITS.maxIdLength) return `${f}: longer than ${NATIVE_LIMITS.maxIdLength}`;
      ids[f] = s;
    } else return `${f}: must be a string`;
  }
  if (!ids.client_id && !ids.user_id) return 'client_id or user_id: required';

  const strings: Record<string, string | null> = {};
  for (const f of ['url', 'referrer', 'title', 'user_agent', 'ip', 'language', 'screen'] as const) {
    const v = e[f];
    if (v === undefined || v === null) strings[f] = null;
    else if (typeof v !== 'string') return `${f}: must be a string`;
    else if (v.length > NATIVE_LIMITS.maxStringLength) return `${f}: longer than ${NATIVE_LIMITS.maxStringLength}`;
    else strings[f] = v || null;
  }

  let clientTs: number | null = null;
  if (e.timestamp !== undefined && e.timestamp !== null) {
    const t = typeof e.timestamp === 'number' ? e.timestamp : typeof e.timestamp === 'string' ? Date.parse(e.timestamp) : NaN;
    if (!Number.isFinite(t)) return 'timestamp: epoch milliseconds or an ISO 8601 string';
    if (t < receivedAt - NATIVE_LIMITS.maxLateMs) return 'timestamp: older than 72 hours';
    // a clock ahead of ours is clamped to receipt: an event cannot happen after we received it
    clientTs = Math.min(Math.round(t), receivedAt);
  }

  const params = objectField(e.params, 'params');
  if (typeof params === 'string') return params;
  const userProps = objectField(e.user_props, 'user_props');
  if (typeof userProps === 'string') return userProps;
  const consentRaw = objectField(e.consent, 'consent');
  if (typeof consentRaw === 'string') return consentRaw;
  let consent: Record<string, string> | null = null;
  if (e.consent !== undefined && e.consent !== null) {
    consent = {};
    for (const [k, v] of Object.entries(consentRaw)) setOwn(consent, k, String(v));
  }
  keepExtraFields(params, e as Record<string, ParamValue>, KNOWN);

  return {
    event_id: ids.event_id,
    protocol: 'native',
    client_ts: clientTs,
    name,
    client_id: ids.client_id,
    user_id: ids.user_id,
    session_id: ids.session_id,
    url: strings.url,
    referrer: strings.referrer,
    title: strings.title,
    ua: strings.user_agent,
    ip: strings.ip,
    geo: null,
    language: strings.language,
    screen: strings.screen,
    consent,
    params,
    user_props: userProps,
  };
}

function objectField(v: unknown, field: string): Record<string, ParamValue> | string {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) return `${field}: must be an object`;
  return shallowCopy(v as Record<string, ParamValue>);
}
