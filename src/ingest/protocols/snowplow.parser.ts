import type { ParamValue } from '../../domain/raw-event.js';
import type { ParsedEvent, RefusedEvent } from '../parsed-event.js';

/**
 * Snowplow tracker protocol: `POST /com.snowplowanalytics.snowplow/tp2` (a payload_data envelope
 * whose `data` array holds one string map per event) and `GET /i` (one event in the query string).
 * Pure; PROTOCOLS.md §4 is the reference.
 */

export const SNOWPLOW_LIMITS = {
  maxBodyBytes: 1024 * 1024,
  maxEventsPerRequest: 1000,
  maxValueLength: 100_000,
  maxNameLength: 100,
  maxIdLength: 256,
  maxLateMs: 72 * 3_600_000,
  maxNestingDepth: 32,
} as const;

export const SNOWPLOW_POST_PATH = '/com.snowplowanalytics.snowplow/tp2';

/** One accepted event and the app id (`aid`) it names, which the edge maps to a property. */
export interface SnowplowEvent {
  appId: string | null;
  event: ParsedEvent;
  /** The event as sent, for the dead-letter output when its app id names no property. */
  payload: unknown;
}

export interface SnowplowParseResult {
  events: SnowplowEvent[];
  refused: RefusedEvent[];
}

const EVENT_NAMES: Record<string, string> = {
  pv: 'page_view',
  pp: 'page_ping',
  tr: 'transaction',
  ti: 'transaction_item',
};
/** Fields with a column of their own, or decoded into params (`ue_*`, `co`/`cx`). */
const CONSUMED: ReadonlySet<string> = new Set(['e', 'eid', 'duid', 'uid', 'sid', 'url', 'refr', 'page', 'lang', 'res', 'ua', 'ip', 'ue_pr', 'ue_px', 'co', 'cx']);
const IGLU = /^iglu:([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/;
const PLAIN_NAME = /^[A-Za-z0-9_]{1,40}$/;
const CLIENT_SESSION = /^iglu:com\.snowplowanalytics\.snowplow\/client_session\//;

/** A POST body (already JSON-parsed): the payload_data envelope, or refused whole (index -1). */
export function parseSnowplowPost(body: unknown, ctx: { receivedAt: number }): SnowplowParseResult {
  const out: SnowplowParseResult = { events: [], refused: [] };
  const data = isObject(body) ? body.data : undefined;
  if (!Array.isArray(data) || data.length === 0) {
    out.refused.push({ index: -1, reason: 'malformed_body', detail: 'expected {"schema": "iglu:…/payload_data/…", "data": [events]}', payload: body });
    return out;
  }
  data.forEach((raw, index) => {
    if (index >= SNOWPLOW_LIMITS.maxEventsPerRequest) {
      out.refused.push({ index, reason: 'over_limit', detail: `at most ${SNOWPLOW_LIMITS.maxEventsPerRequest} events per request`, payload: raw });
      return;
    }
    push(out, parsePayload(raw, index, ctx.receivedAt));
  });
  return out;
}

/** `GET /i?e=pv&…`: the query string is one event. */
export function parseSnowplowGet(query: URLSearchParams, ctx: { receivedAt: number }): SnowplowParseResult {
  const payload: Record<string, string> = {};
  for (const [k, v] of query) setOwn(payload, k, v);
  const out: SnowplowParseResult = { events: [], refused: [] };
  push(out, parsePayload(payload, 0, ctx.receivedAt));
  return out;
}

function push(out: SnowplowParseResult, r: SnowplowEvent | RefusedEvent): void {
  if ('reason' in r) out.refused.push(r);
  else out.events.push(r);
}

function parsePayload(raw: unknown, index: number, receivedAt: number): SnowplowEvent | RefusedEvent {
  const refuse = (reason: RefusedEvent['reason'], detail: string): RefusedEvent => ({ index, reason, detail, payload: raw });
  if (!isObject(raw)) return refuse('invalid', 'event must be an object of string values');
  const f: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === 'string') setOwn(f, k, v);
    else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') setOwn(f, k, String(v));
    else if (v !== null && v !== undefined) return refuse('invalid', `${k}: must be a string`);
    if (f[k] !== undefined && f[k].length > SNOWPLOW_LIMITS.maxValueLength) return refuse('over_limit', `${k}: longer than ${SNOWPLOW_LIMITS.maxValueLength} characters`);
  }
  const e = f.e;
  if (!e) return refuse('invalid', 'e: the event type is required');
  for (const k of ['eid', 'duid', 'uid', 'sid', 'nuid', 'tnuid'] as const) {
    if (f[k] && f[k].length > SNOWPLOW_LIMITS.maxIdLength) return refuse('invalid', `${k}: longer than ${SNOWPLOW_LIMITS.maxIdLength}`);
  }

  const params: Record<string, ParamValue> = {};
  let name: string;
  if (e === 'ue') {
    const ue = selfDescribing(f, 'ue_px', 'ue_pr');
    if (typeof ue === 'string') return refuse('invalid', ue);
    if (!ue) return refuse('invalid', 'ue_pr or ue_px: a self-describing event is required for e=ue');
    const inner = isObject(ue.data) ? ue.data : null;
    const schema = inner && typeof inner.schema === 'string' ? IGLU.exec(inner.schema) : null;
    if (!inner || !schema) return refuse('invalid', 'ue: expected {"schema": "iglu:…/unstruct_event/…", "data": {"schema": "iglu:vendor/name/jsonschema/x-y-z", "data": {…}}}');
    name = schema[2];
    if (name.length > SNOWPLOW_LIMITS.maxNameLength) return refuse('invalid', 'ue: schema name too long');
    setOwn(params, 'event_schema', inner.schema as string);
    setOwn(params, 'event_data', inner.data as ParamValue);
  } else if (e === 'se') {
    if (!f.se_ac) return refuse('invalid', 'se_ac: the action of a structured event is required');
    if (f.se_ac.length > SNOWPLOW_LIMITS.maxNameLength) return refuse('invalid', `se_ac: longer than ${SNOWPLOW_LIMITS.maxNameLength}`);
    name = f.se_ac;
  } else if (EVENT_NAMES[e]) name = EVENT_NAMES[e];
  else if (PLAIN_NAME.test(e)) name = e;
  else return refuse('invalid', `e: unknown event type ${e.slice(0, 40)}`);

  const contexts = selfDescribing(f, 'cx', 'co');
  if (typeof contexts === 'string') return refuse('invalid', contexts);
  let session: Record<string, unknown> | null = null;
  if (contexts) {
    if (!Array.isArray(contexts.data)) return refuse('invalid', 'co/cx: expected {"schema": "iglu:…/contexts/…", "data": [entities]}');
    setOwn(params, 'contexts', contexts.data as ParamValue);
    for (const c of contexts.data) {
      if (isObject(c) && typeof c.schema === 'string' && CLIENT_SESSION.test(c.schema) && isObject(c.data)) session = c.data;
    }
  }

  for (const [k, v] of Object.entries(f)) if (!CONSUMED.has(k)) setOwn(params, k, v);
  if (e === 'se' || e === 'pp') setOwn(params, 'snowplow_event', e);

  const sessionString = (k: string) => (session && typeof session[k] === 'string' && session[k] ? (session[k] as string) : null);
  const event: ParsedEvent = {
    event_id: f.eid || null,
    protocol: 'snowplow',
    client_ts: clientTs(f, receivedAt),
    name,
    client_id: f.duid || f.nuid || f.tnuid || sessionString('userId') || f.uid || null,
    user_id: f.uid || null,
    session_id: f.sid || sessionString('sessionId'),
    url: f.url || null,
    referrer: f.refr || null,
    title: f.page || null,
    ua: f.ua || null,
    ip: f.ip || null,
    geo: null,
    language: f.lang || null,
    screen: f.res || null,
    consent: null,
    params,
    user_props: {},
  };
  return { appId: f.aid || null, event, payload: raw };
}

/**
 * Snowplow's event time: the true timestamp `ttm` when set; else the device's `dtm` corrected
 * for its clock by the send time `stm` (collector − (stm − dtm)); clamped to [receipt − 72 h, receipt].
 */
function clientTs(f: Record<string, string>, receivedAt: number): number | null {
  const ms = (v: string | undefined) => (v && /^\d{1,16}$/.test(v) ? Number(v) : null);
  const ttm = ms(f.ttm);
  const dtm = ms(f.dtm);
  const stm = ms(f.stm);
  const t = ttm ?? (dtm !== null && stm !== null ? receivedAt - (stm - dtm) : dtm);
  if (t === null) return null;
  return Math.max(receivedAt - SNOWPLOW_LIMITS.maxLateMs, Math.min(t, receivedAt));
}

/**
 * A self-describing JSON from its base64 field (url-safe or standard, padded or not) or its plain
 * one; null when neither is sent, a message when it cannot be read.
 */
function selfDescribing(f: Record<string, string>, encodedKey: string, plainKey: string): Record<string, unknown> | null | string {
  let text: string | null;
  if (f[encodedKey]) {
    text = decodeBase64(f[encodedKey]);
    if (text === null) return `${encodedKey}: not valid base64 of UTF-8 text`;
  } else if (f[plainKey]) text = f[plainKey];
  else return null;
  const key = f[encodedKey] ? encodedKey : plainKey;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `${key}: not valid JSON`;
  }
  if (!isObject(value)) return `${key}: must be a self-describing JSON object`;
  if (depth(value, 0) > SNOWPLOW_LIMITS.maxNestingDepth) return `${key}: nested deeper than ${SNOWPLOW_LIMITS.maxNestingDepth} levels`;
  return value;
}

export function decodeBase64(s: string): string | null {
  // a standard-alphabet '+' that reached us unescaped in a query string arrives as a space
  const normalized = s.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(normalized) || normalized.length % 4 === 1) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(normalized, 'base64'));
  } catch {
    return null;
  }
}

function depth(v: unknown, d: number): number {
  if (d > SNOWPLOW_LIMITS.maxNestingDepth) return d;
  if (Array.isArray(v)) return v.reduce<number>((m, x) => Math.max(m, depth(x, d + 1)), d);
  if (isObject(v)) return Object.values(v).reduce<number>((m, x) => Math.max(m, depth(x, d + 1)), d);
  return d;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
