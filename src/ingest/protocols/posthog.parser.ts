import zlib from 'node:zlib';
import { IDENTITY_LINK_EVENT, identityLinkParams } from '../../domain/identity-link.js';
import type { ParamValue } from '../../domain/raw-event.js';
import { TallyError } from '../../infra/errors.js';
import { DROPPED_PARAM, type ParsedEvent, type RefusedEvent } from '../parsed-event.js';
import { setOwn } from './own-property.js';
import { formEntries } from './urlencoded.js';

/**
 * PostHog capture (`/e`, `/i/v0/e`, `/capture`, `/track`, `/engage`, `/batch`; PROTOCOLS.md §7).
 * The project key (`api_key`/`token`) is one of our ingest keys. Body decoding (form-encoded
 * `data=`, base64, gzip by query flag) is `decodePostHogBody`; `parsePostHog` maps the events.
 */
export const POSTHOG_LIMITS = {
  maxEventBodyBytes: 2 * 1024 * 1024,
  maxBatchBodyBytes: 20 * 1024 * 1024,
  maxEvents: 10_000,
  maxEventName: 200,
  maxDistinctId: 200,
  maxEventId: 128,
  maxLateMs: 72 * 3_600_000,
} as const;

export interface PostHogParseResult {
  /** The project key the request carries, batch-level or per event (all must agree). */
  token: string;
  events: ParsedEvent[];
  refused: RefusedEvent[];
}

type Json = Record<string, unknown>;
/** Either base64 alphabet, spaces for unescaped '+'; `\w` is [A-Za-z0-9_] and runs faster than the spelled-out class. */
const BASE64_TEXT = /^[\w+/ -]+={0,2}$/;
const GZIP = (b: Buffer) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/**
 * The JSON value a request carries: a plain/gzip JSON body (readBody already inflated gzip by
 * header or magic bytes), form-encoded `data=` (+ `compression`), base64 of either, or GET `?data=`.
 */
export function decodePostHogBody(body: Buffer, query: URLSearchParams, maxBytes: number): unknown {
  let compression = (query.get('compression') ?? '').toLowerCase();
  let bytes = body;
  const head = body.subarray(0, 5).toString('latin1');
  if (head === 'data=' || (!body.length && query.has('data')) || (/^[a-z_]+=/.test(head) && body.includes('data='))) {
    const form = body.length ? formFields(body.toString('utf8')) : formFields(query.toString());
    const data = form.data;
    if (data === null) throw invalid('form body without a data field');
    compression = (form.compression ?? compression).toLowerCase();
    bytes = Buffer.from(data, 'utf8');
  }
  if (compression === 'lz64' || compression === 'lz-string') throw invalid('lz64 compression is not supported; use gzip-js or base64');

  let text = bytes.toString('utf8').trim();
  if (!text.startsWith('{') && !text.startsWith('[')) {
    if (GZIP(bytes)) bytes = gunzip(bytes, maxBytes);
    // URLSearchParams turns an unescaped '+' of base64 into a space
    else if (BASE64_TEXT.test(text)) {
      // Buffer reads both base64 alphabets ('-' '_' of base64url) itself
      bytes = Buffer.from(text.includes(' ') ? text.replaceAll(' ', '+') : text, 'base64');
      if (GZIP(bytes)) bytes = gunzip(bytes, maxBytes);
    } else if (compression === 'gzip' || compression === 'gzip-js') throw invalid('compression=gzip-js but the body is not gzip');
    text = bytes.toString('utf8').trim();
  }
  try {
    return JSON.parse(text);
  } catch {
    throw invalid('body is not valid JSON (plain, gzip, base64 or data= form)');
  }
}

/** The first `data` and `compression` of a form body, as URLSearchParams.get reads them. */
function formFields(text: string): { data: string | null; compression: string | null } {
  let data: string | null = null;
  let compression: string | null = null;
  for (const [k, v] of formEntries(text)) {
    if (k === 'data') data ??= v;
    else if (k === 'compression') compression ??= v;
  }
  return { data, compression };
}

export function parsePostHog(decoded: unknown, ctx: { receivedAt: number; sentAtMs?: number | null; engage?: boolean }): PostHogParseResult {
  let list: unknown[];
  let batchToken: unknown = null;
  let sentAt: number | null = ctx.sentAtMs ?? null;
  if (Array.isArray(decoded)) list = decoded;
  else if (decoded && typeof decoded === 'object') {
    const d = decoded as Json;
    if (Array.isArray(d.batch)) {
      list = d.batch;
      batchToken = d.api_key ?? d.token ?? null;
      const s = parseTime(d.sent_at);
      if (s !== null) sentAt = s;
    } else if (d.batch !== undefined) throw invalid('batch must be an array');
    else list = [ctx.engage && d.event === undefined ? { ...d, event: '$identify' } : d];
  } else throw invalid('expected an event, an array of events or { batch: [...] }');
  if (!list.length) throw invalid('empty batch');
  if (list.length > POSTHOG_LIMITS.maxEvents) throw invalid(`at most ${POSTHOG_LIMITS.maxEvents} events per request`);

  const tokens = new Set<string>();
  if (batchToken !== null && batchToken !== undefined) {
    if (typeof batchToken !== 'string' || !batchToken) throw unauthenticated('api_key must be a string');
    tokens.add(batchToken);
  }
  const out: PostHogParseResult = { token: '', events: [], refused: [] };
  for (let index = 0; index < list.length; index++) {
    const raw = list[index];
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
      const e = raw as Json;
      const props = e.properties && typeof e.properties === 'object' ? (e.properties as Json) : {};
      const t = e.api_key ?? e.token ?? e.$token ?? props.token;
      if (typeof t === 'string' && t) tokens.add(t);
    }
    const r = parseOne(raw, ctx.receivedAt, sentAt);
    if (typeof r === 'string') out.refused.push({ index, reason: 'invalid', detail: r, payload: raw });
    else out.events.push(r);
  }
  if (tokens.size === 0) throw unauthenticated('API key is missing: send api_key or token');
  if (tokens.size > 1) throw unauthenticated('a batch must carry one API key');
  out.token = [...tokens][0];
  return out;
}

const TOP = new Set([
  'event',
  'distinct_id',
  '$distinct_id',
  'uuid',
  'properties',
  'timestamp',
  'offset',
  'sent_at',
  '$set',
  '$set_once',
  'api_key',
  'token',
  '$token',
]);
const SECRET_PROPS = new Set(['token', '$token', 'api_key']);

function parseOne(raw: unknown, receivedAt: number, sentAt: number | null): ParsedEvent | string {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'event must be an object';
  const e = raw as Json;
  if (typeof e.event !== 'string' || !e.event) return 'event: required non-empty string';
  if (e.event.length > POSTHOG_LIMITS.maxEventName) return `event: longer than ${POSTHOG_LIMITS.maxEventName}`;
  if (e.event === '$performance_event') return '$performance_event is not ingested (PostHog filters it too)';
  if (e.properties !== undefined && e.properties !== null && (typeof e.properties !== 'object' || Array.isArray(e.properties)))
    return 'properties: must be an object';
  const props: Json = { ...((e.properties as Json | undefined) ?? {}) };

  const distinct = idString(e.distinct_id ?? props.distinct_id ?? e.$distinct_id ?? props.$distinct_id);
  if (!distinct) return 'distinct_id: required';
  let eventId: string | null = null;
  if (e.uuid !== undefined && e.uuid !== null) {
    if (typeof e.uuid !== 'string' || !e.uuid || e.uuid.length > POSTHOG_LIMITS.maxEventId) return 'uuid: must be a UUID string';
    eventId = e.uuid;
  }

  const dropped: Json = {};
  let clientTs: number | null = null;
  const ts = e.timestamp !== undefined && e.timestamp !== null ? parseTime(e.timestamp) : null;
  if (e.timestamp !== undefined && e.timestamp !== null && ts === null) return 'timestamp: not a parseable time';
  const offset = typeof e.offset === 'number' && Number.isFinite(e.offset) ? e.offset : null;
  const ownSentAt = parseTime(e.sent_at) ?? sentAt;
  if (ts !== null) clientTs = ownSentAt !== null && props.$ignore_sent_at !== true ? receivedAt + (ts - ownSentAt) : ts;
  else if (offset !== null) clientTs = receivedAt - offset;
  if (clientTs !== null) {
    const clamped = Math.min(Math.max(Math.round(clientTs), receivedAt - POSTHOG_LIMITS.maxLateMs), receivedAt);
    if (clamped !== Math.round(clientTs)) dropped.timestamp = (e.timestamp ?? e.offset) as ParamValue;
    clientTs = clamped;
  }

  const set = { ...obj(props.$set), ...obj(e.$set) };
  const setOnce = { ...obj(props.$set_once), ...obj(e.$set_once) };
  const userProps: Record<string, ParamValue> = { ...(setOnce as Record<string, ParamValue>), ...(set as Record<string, ParamValue>) };

  let name = e.event;
  let clientId = idString(props.$device_id) ?? distinct;
  let userId: string | null = clientId !== distinct ? distinct : null;
  let link: Record<string, ParamValue> = {};
  if (e.event === '$identify') {
    clientId = idString(props.$anon_distinct_id) ?? clientId;
    userId = distinct;
    name = IDENTITY_LINK_EVENT;
    link = identityLinkParams({ user_id: distinct, client_id: clientId, kind: 'identify', source_protocol: 'posthog' });
  } else if (e.event === '$create_alias') {
    const alias = idString(props.alias);
    if (!alias) return '$create_alias: properties.alias required';
    clientId = alias;
    userId = distinct;
    name = IDENTITY_LINK_EVENT;
    link = identityLinkParams({ user_id: distinct, client_id: alias, kind: 'alias', source_protocol: 'posthog' });
  } else if (e.event === '$pageview') name = 'page_view';
  else if (e.event === '$screen') name = 'screen_view';

  const params: Record<string, ParamValue> = Object.assign({}, link);
  put(params, dropped, '_tally_source_name', e.event);
  for (const k of Object.keys(props)) if (!SECRET_PROPS.has(k) && k !== '$set' && k !== '$set_once') put(params, dropped, k, props[k]);
  if (Object.keys(setOnce).length) put(params, dropped, '$set_once', setOnce);
  for (const k of Object.keys(e)) if (!TOP.has(k)) put(params, dropped, k, e[k]);
  if (Object.keys(dropped).length) params[DROPPED_PARAM] = dropped as Record<string, ParamValue>;

  const w = props.$screen_width;
  const h = props.$screen_height;
  const referrer = str(props.$referrer);
  return {
    event_id: eventId,
    protocol: 'posthog',
    client_ts: clientTs,
    name,
    client_id: clientId,
    user_id: userId,
    session_id: idString(props.$session_id),
    url: str(props.$current_url),
    referrer: referrer === '$direct' ? null : referrer,
    title: str(props.title) ?? str(props.$title),
    ua: str(props.$raw_user_agent),
    ip: str(props.$ip),
    geo: null,
    language: str(props.$browser_language),
    screen: typeof w === 'number' && typeof h === 'number' ? `${w}x${h}` : null,
    consent: null,
    params,
    user_props: userProps,
  };
}

/** A value under its own name, or under `_tally_dropped` when params already has that name. */
function put(params: Record<string, ParamValue>, dropped: Json, k: string, v: unknown): void {
  if (v === undefined) return;
  const target: Json = Object.hasOwn(params, k) ? dropped : params;
  // stored here, not by setOwn, on the hot path: a store site shared by every parser goes megamorphic
  if (k === '__proto__') setOwn<unknown>(target, k, v);
  else target[k] = v;
}

/** ISO 8601 (or anything Date parses) or epoch ms; null when absent or unparseable. */
export function parseTime(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string' || !v) return null;
  if (/^\d{10,}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : null;
}

/** PostHog stringifies any JSON distinct id and cuts it at 200 characters. */
function idString(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  let s: string | undefined;
  try {
    s = typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    return null; // nested too deeply to serialise: not an id
  }
  return s ? s.slice(0, POSTHOG_LIMITS.maxDistinctId) : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v ? v : null;
}

function obj(v: unknown): Json {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

function gunzip(b: Buffer, maxBytes: number): Buffer {
  try {
    return zlib.gunzipSync(b, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new TallyError('payload_too_large', `inflated body larger than ${maxBytes} bytes`, { reason: 'body_too_large' });
    }
    throw invalid('body is not valid gzip');
  }
}

function invalid(message: string): TallyError {
  return new TallyError('malformed_body', message, { reason: 'invalid_payload' });
}

function unauthenticated(message: string): TallyError {
  return new TallyError('unauthenticated', message, { reason: 'invalid_api_key' });
}
