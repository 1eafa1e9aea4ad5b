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

const EVENT_NAMES: Readonly<Record<string, string>> = {
  pv: 'page_view',
  pp: 'page_ping',
  tr: 'transaction',
  ti: 'transaction_item',
};
/** Fields with a column of their own, or decoded into params (`ue_*`, `co`/`cx`). */
const CONSUMED: ReadonlySet<string> = new Set([
  'e',
  'eid',
  'duid',
  'uid',
  'sid',
  'url',
  'refr',
  'page',
  'lang',
  'res',
  'ua',
  'ip',
  'ue_pr',
  'ue_px',
  'co',
  'cx',
]);
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
  for (let index = 0; index < data.length; index++) {
    const raw: unknown = data[index];
    if (index >= SNOWPLOW_LIMITS.maxEventsPerRequest) {
      out.refused.push({ index, reason: 'over_limit', detail: `at most ${SNOWPLOW_LIMITS.maxEventsPerRequest} events per request`, payload: raw });
      continue;
    }
    push(out, parsePayload(raw, index, ctx.receivedAt));
  }
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

function refusal(index: number, raw: unknown, reason: RefusedEvent['reason'], detail: string): RefusedEvent {
  return { index, reason, detail, payload: raw };
}

const ID_FIELDS = ['eid', 'duid', 'uid', 'sid', 'nuid', 'tnuid'] as const;

function parsePayload(raw: unknown, index: number, receivedAt: number): SnowplowEvent | RefusedEvent {
  if (!isObject(raw)) return refusal(index, raw, 'invalid', 'event must be an object of string values');
  const read = fields(raw);
  if (!read.ok) return refusal(index, raw, read.reason, read.detail);
  const f = read.values;
  const e = f.e;
  if (!e) return refusal(index, raw, 'invalid', 'e: the event type is required');
  for (const k of ID_FIELDS) {
    if (f[k] && f[k].length > SNOWPLOW_LIMITS.maxIdLength) return refusal(index, raw, 'invalid', `${k}: longer than ${SNOWPLOW_LIMITS.maxIdLength}`);
  }

  const params: Record<string, ParamValue> = {};
  let name: string;
  if (e === 'ue') {
    const ue = selfDescribing(f, 'ue_px', 'ue_pr');
    if (typeof ue === 'string') return refusal(index, raw, 'invalid', ue);
    if (!ue) return refusal(index, raw, 'invalid', 'ue_pr or ue_px: a self-describing event is required for e=ue');
    const inner = isObject(ue.data) ? ue.data : null;
    const schema = inner && typeof inner.schema === 'string' ? IGLU.exec(inner.schema) : null;
    if (!inner || !schema)
      return refusal(
        index,
        raw,
        'invalid',
        'ue: expected {"schema": "iglu:…/unstruct_event/…", "data": {"schema": "iglu:vendor/name/jsonschema/x-y-z", "data": {…}}}',
      );
    name = schema[2];
    if (name.length > SNOWPLOW_LIMITS.maxNameLength) return refusal(index, raw, 'invalid', 'ue: schema name too long');
    setOwn(params, 'event_schema', inner.schema as string);
    setOwn(params, 'event_data', inner.data as ParamValue);
  } else if (e === 'se') {
    if (!f.se_ac) return refusal(index, raw, 'invalid', 'se_ac: the action of a structured event is required');
    if (f.se_ac.length > SNOWPLOW_LIMITS.maxNameLength) return refusal(index, raw, 'invalid', `se_ac: longer than ${SNOWPLOW_LIMITS.maxNameLength}`);
    name = f.se_ac;
  } else if (Object.hasOwn(EVENT_NAMES, e)) name = EVENT_NAMES[e];
  else if (PLAIN_NAME.test(e)) name = e;
  else return refusal(index, raw, 'invalid', `e: unknown event type ${e.slice(0, 40)}`);

  const contexts = selfDescribing(f, 'cx', 'co');
  if (typeof contexts === 'string') return refusal(index, raw, 'invalid', contexts);
  let session: Record<string, unknown> | null = null;
  if (contexts) {
    if (!Array.isArray(contexts.data)) return refusal(index, raw, 'invalid', 'co/cx: expected {"schema": "iglu:…/contexts/…", "data": [entities]}');
    setOwn(params, 'contexts', contexts.data as ParamValue);
    for (const c of contexts.data) {
      if (isObject(c) && typeof c.schema === 'string' && CLIENT_SESSION.test(c.schema) && isObject(c.data)) session = c.data;
    }
  }

  for (const k of Object.keys(f)) if (!CONSUMED.has(k)) setOwn(params, k, f[k]);
  if (e === 'se' || e === 'pp') setOwn(params, 'snowplow_event', e);

  const event: ParsedEvent = {
    event_id: f.eid || null,
    protocol: 'snowplow',
    client_ts: clientTs(f, receivedAt),
    name,
    client_id: f.duid || f.nuid || f.tnuid || sessionString(session, 'userId') || f.uid || null,
    user_id: f.uid || null,
    session_id: f.sid || sessionString(session, 'sessionId'),
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

type Fields = { ok: true; values: Record<string, string> } | { ok: false; reason: RefusedEvent['reason']; detail: string };

/** The event's values as strings: the object itself when they all are, else a converted copy. */
function fields(raw: Record<string, unknown>): Fields {
  for (const k of Object.keys(raw)) {
    const v = raw[k];
    if (typeof v !== 'string' || v.length > SNOWPLOW_LIMITS.maxValueLength) return convertedFields(raw);
  }
  return { ok: true, values: raw as Record<string, string> };
}

/** Numbers and booleans as text, null and undefined left out; any other value, or one too long, refuses the event. */
function convertedFields(raw: Record<string, unknown>): Fields {
  const f: Record<string, string> = {};
  for (const k of Object.keys(raw)) {
    const v = raw[k];
    let s: string;
    if (typeof v === 'string') s = v;
    else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') s = String(v);
    else if (v !== null && v !== undefined) return { ok: false, reason: 'invalid', detail: `${k}: must be a string` };
    else continue;
    setOwn(f, k, s);
    if (s.length > SNOWPLOW_LIMITS.maxValueLength)
      return { ok: false, reason: 'over_limit', detail: `${k}: longer than ${SNOWPLOW_LIMITS.maxValueLength} characters` };
  }
  return { ok: true, values: f };
}

function sessionString(session: Record<string, unknown> | null, k: string): string | null {
  return session && typeof session[k] === 'string' && session[k] ? (session[k] as string) : null;
}

/**
 * Snowplow's event time: the true timestamp `ttm` when set; else the device's `dtm` corrected
 * for its clock by the send time `stm` (collector − (stm − dtm)); clamped to [receipt − 72 h, receipt].
 */
function clientTs(f: Record<string, string>, receivedAt: number): number | null {
  const ttm = ms(f.ttm);
  const dtm = ms(f.dtm);
  const stm = ms(f.stm);
  const t = ttm ?? (dtm !== null && stm !== null ? receivedAt - (stm - dtm) : dtm);
  if (t === null) return null;
  return Math.max(receivedAt - SNOWPLOW_LIMITS.maxLateMs, Math.min(t, receivedAt));
}

const EPOCH_MS = /^\d{1,16}$/;

function ms(v: string | undefined): number | null {
  return v && EPOCH_MS.test(v) ? Number(v) : null;
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
  if (tooDeep(value, 0)) return `${key}: nested deeper than ${SNOWPLOW_LIMITS.maxNestingDepth} levels`;
  return value;
}

/** Either base64 alphabet (`\w` is [A-Za-z0-9_], faster than spelled out), a space for a '+' that reached us unescaped in a query string, then padding. */
const BASE64 = /^[\w+/ -]*=*$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function decodeBase64(s: string): string | null {
  if (!BASE64.test(s)) return null;
  let length = s.length;
  while (length > 0 && s.charCodeAt(length - 1) === 0x3d) length--;
  if (length % 4 === 1) return null;
  // Buffer reads '-' and '_' (base64url) and stops at the padding itself
  try {
    return UTF8.decode(Buffer.from(s.includes(' ') ? s.replaceAll(' ', '+') : s, 'base64'));
  } catch {
    return null;
  }
}

/** Whether anything sits deeper than maxNestingDepth levels below the root (at depth 0). */
function tooDeep(v: unknown, d: number): boolean {
  if (d > SNOWPLOW_LIMITS.maxNestingDepth) return true;
  if (Array.isArray(v)) {
    for (const x of v) if (tooDeep(x, d + 1)) return true;
  } else if (isObject(v)) {
    for (const k of Object.keys(v)) if (tooDeep(v[k], d + 1)) return true;
  }
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * own-property.ts's setOwn with a store site of this module's own: the shared one sees every
 * parser's objects and goes megamorphic, which measured 5-10 % slower on this parser's bench.
 */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
