import { IDENTITY_LINK_EVENT, identityLinkParams, type IdentityLink } from '../../domain/identity-link.js';
import type { ParamValue } from '../../domain/raw-event.js';
import { TallyError } from '../../infra/errors.js';
import { jsonBytesOver } from './json-size.js';
import { shallowCopy } from './shallow-copy.js';
import { blankEvent, DROPPED_PARAM, type ParsedEvent, type RefusedEvent } from '../parsed-event.js';
import { toParamValue, type ParamValueRules } from './param-value.js';

/**
 * Segment HTTP Tracking API (`/v1/track|page|screen|identify|group|alias|batch` and analytics.js's
 * one-letter paths): JSON body -> ParsedEvents and refused messages. Pure; PROTOCOLS.md §3.
 */

export const SEGMENT_LIMITS = {
  maxMessageBytes: 32 * 1024,
  maxBatchBytes: 500 * 1024,
  /** Segment answers 200 and drops the rest; Tally dead-letters them. */
  maxBatchMessages: 2500,
  maxMessageIdLength: 100,
  maxIdLength: 256,
  maxNameLength: 200,
  maxNestingDepth: 32,
  maxLateMs: 72 * 3_600_000,
} as const;

export type SegmentType = 'track' | 'page' | 'screen' | 'identify' | 'group' | 'alias';
export type SegmentCall = SegmentType | 'batch';

/** Path segment after `/v1/` -> the call it makes. */
export const SEGMENT_PATHS: Readonly<Record<string, SegmentCall>> = {
  track: 'track',
  t: 'track',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  identify: 'identify',
  i: 'identify',
  group: 'group',
  g: 'group',
  alias: 'alias',
  a: 'alias',
  batch: 'batch',
  b: 'batch',
};

/**
 * Event names of the calls that are not `track`. identify and alias that link two ids become
 * identity links (`IDENTITY_LINK_EVENT`); the others keep these names, their traits and ids.
 */
const NAMES: Record<Exclude<SegmentType, 'track'>, string> = {
  page: 'page_view',
  screen: 'screen_view',
  identify: 'identify',
  group: 'group',
  alias: 'alias',
};
const TYPES: ReadonlySet<string> = new Set(['track', 'page', 'screen', 'identify', 'group', 'alias']);
const KNOWN: ReadonlySet<string> = new Set([
  'type',
  'messageId',
  'anonymousId',
  'userId',
  'timestamp',
  'originalTimestamp',
  'sentAt',
  'context',
  'properties',
  'event',
  'name',
  'category',
  'traits',
  'groupId',
  'previousId',
  'writeKey',
]);
const CAMPAIGN: ReadonlyMap<string, string> = new Map([
  ['name', 'utm_campaign'],
  ['source', 'utm_source'],
  ['medium', 'utm_medium'],
  ['term', 'utm_term'],
  ['content', 'utm_content'],
]);

type Json = Record<string, unknown>;

export interface SegmentParseResult {
  /** The write key the body carries (envelope first, else the first message's), if any. */
  writeKey: string | null;
  events: ParsedEvent[];
  refused: RefusedEvent[];
}

/** The write key from `Authorization: Basic base64(key:)`, or null. */
export function segmentBasicKey(authorization: string | null): string | null {
  const m = authorization ? /^Basic\s+([A-Za-z0-9+/=_-]+)$/i.exec(authorization.trim()) : null;
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const user = i >= 0 ? decoded.slice(0, i) : decoded;
  return user || null;
}

/**
 * A request body -> events. Throws TallyError (400) only for a body Segment itself refuses: not a
 * JSON object, or a batch without a `batch` array. Everything else is per message: accepted, or
 * refused (dead-lettered) while the request still succeeds, as Segment answers 200 and drops.
 */
export function parseSegment(body: unknown, call: SegmentCall, ctx: { receivedAt: number }): SegmentParseResult {
  if (!isObject(body)) throw new TallyError('malformed_body', 'the body must be a JSON object', { reason: 'not_an_object' });
  const out: SegmentParseResult = { writeKey: stringOrNull(body.writeKey), events: [], refused: [] };
  if (call !== 'batch') {
    push(out, parseMessage(body, call, null, 0, ctx.receivedAt));
    return out;
  }
  const batch = body.batch;
  if (!Array.isArray(batch)) throw new TallyError('malformed_body', '"batch" must be an array of messages', { reason: 'batch_missing', field: 'batch' });
  const envelope: Envelope = {
    context: isObject(body.context) ? body.context : null,
    integrations: body.integrations,
    sentAt: body.sentAt,
    sentAtMs: time(body.sentAt),
  };
  for (let index = 0; index < batch.length; index++) {
    const raw: unknown = batch[index];
    if (!out.writeKey && isObject(raw)) out.writeKey = stringOrNull(raw.writeKey);
    if (index >= SEGMENT_LIMITS.maxBatchMessages) {
      out.refused.push({ index, reason: 'over_limit', detail: `at most ${SEGMENT_LIMITS.maxBatchMessages} messages per batch`, payload: withoutKey(raw) });
      continue;
    }
    push(out, parseMessage(raw, null, envelope, index, ctx.receivedAt));
  }
  return out;
}

function push(out: SegmentParseResult, r: ParsedEvent | RefusedEvent): void {
  if ('reason' in r) out.refused.push(r);
  else out.events.push(r);
}

interface Envelope {
  context: Json | null;
  integrations: unknown;
  sentAt: unknown;
  /** `time(sentAt)`, parsed once for the batch. */
  sentAtMs: number | null;
}

const ID_FIELDS = ['anonymousId', 'userId'] as const;
const OBJECT_FIELDS = ['properties', 'traits', 'context'] as const;

function refusal(index: number, raw: unknown, reason: RefusedEvent['reason'], detail: string): RefusedEvent {
  return { index, reason, detail, payload: withoutKey(raw) };
}

function parseMessage(raw: unknown, pathType: SegmentType | null, envelope: Envelope | null, index: number, receivedAt: number): ParsedEvent | RefusedEvent {
  if (!isObject(raw)) return refusal(index, raw, 'invalid', 'message must be an object');
  const msg = shallowCopy(raw);
  if (envelope) {
    if (envelope.context) msg.context = { ...envelope.context, ...(isObject(raw.context) ? raw.context : {}) };
    if (msg.integrations === undefined && envelope.integrations !== undefined) msg.integrations = envelope.integrations;
    if (msg.sentAt === undefined && envelope.sentAt !== undefined) msg.sentAt = envelope.sentAt;
  }
  const over = jsonBytesOver(raw, SEGMENT_LIMITS.maxMessageBytes);
  if (over === null) return refusal(index, raw, 'invalid', 'message is not serialisable JSON');
  if (over) return refusal(index, raw, 'over_limit', `message larger than ${SEGMENT_LIMITS.maxMessageBytes} bytes`);

  const rawType = pathType ?? msg.type;
  if (typeof rawType !== 'string' || !TYPES.has(rawType)) return refusal(index, raw, 'invalid', 'type: one of track, page, screen, identify, group, alias');
  const type = rawType as SegmentType;

  const ids: Record<'anonymousId' | 'userId', string | null> = { anonymousId: null, userId: null };
  for (const f of ID_FIELDS) {
    const v = msg[f];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) return refusal(index, raw, 'invalid', `${f}: must be a string`);
    const s = String(v);
    if (s.length > SEGMENT_LIMITS.maxIdLength) return refusal(index, raw, 'invalid', `${f}: longer than ${SEGMENT_LIMITS.maxIdLength}`);
    ids[f] = s;
  }
  if (!ids.anonymousId && !ids.userId) return refusal(index, raw, 'invalid', 'no_user_anon_id: anonymousId or userId is required');

  let name: string;
  if (type === 'track') {
    if (typeof msg.event !== 'string' || msg.event.trim() === '') return refusal(index, raw, 'invalid', 'event: required for track');
    if (msg.event.length > SEGMENT_LIMITS.maxNameLength) return refusal(index, raw, 'invalid', `event: longer than ${SEGMENT_LIMITS.maxNameLength}`);
    name = msg.event;
  } else name = NAMES[type as Exclude<SegmentType, 'track'>];
  const link = identityLink(type, ids.userId, ids.anonymousId, msg.previousId);
  if (link) name = IDENTITY_LINK_EVENT;

  for (const f of OBJECT_FIELDS) {
    if (msg[f] !== undefined && msg[f] !== null && !isObject(msg[f])) return refusal(index, raw, 'invalid', `${f}: must be an object`);
  }
  // JSON.parse output is already made of params; only other values (undefined, NaN, class instances) need converting
  const shape = scan(msg, 0);
  const m = shape === CLEAN ? (msg as Record<string, ParamValue>) : shape === CONVERT ? toParams(msg) : undefined;
  if (m === undefined) return refusal(index, raw, 'invalid', `message nested deeper than ${SEGMENT_LIMITS.maxNestingDepth} levels`);
  const context = (m.context ?? {}) as Record<string, ParamValue>;
  const properties = (m.properties ?? {}) as Record<string, ParamValue>;
  const traits = (m.traits ?? {}) as Record<string, ParamValue>;

  const event = blankEvent('segment', name);
  event.client_id = ids.anonymousId ?? ids.userId;
  event.user_id = ids.userId;
  event.ua = str(context.userAgent);
  event.ip = str(context.ip);
  event.language = str(context.locale);
  const params = event.params;
  const dropped: Record<string, ParamValue> = {};
  if (link) {
    const linkParams = identityLinkParams(link);
    for (const k of Object.keys(linkParams)) setOwn(params, k, linkParams[k]);
  }
  for (const k of Object.keys(properties)) extra(params, dropped, k, properties[k]);

  const page = isObject(context.page) ? (context.page as Record<string, ParamValue>) : EMPTY;
  const fromProps = type === 'page' || type === 'screen';
  event.url = (fromProps ? str(properties.url) : null) ?? str(page.url);
  event.referrer = (fromProps ? str(properties.referrer) : null) ?? str(page.referrer);
  event.title = (fromProps ? str(properties.title) : null) ?? str(page.title);
  const screen = isObject(context.screen) ? (context.screen as Record<string, ParamValue>) : null;
  if (screen && typeof screen.width === 'number' && typeof screen.height === 'number') event.screen = `${screen.width}x${screen.height}`;
  if (isObject(context.campaign)) {
    const campaign = context.campaign as Record<string, ParamValue>;
    for (const k of Object.keys(campaign)) extra(params, dropped, CAMPAIGN.get(k) ?? `campaign_${k}`, campaign[k]);
  }

  const messageId = msg.messageId;
  if (typeof messageId === 'string' && messageId && messageId.length <= SEGMENT_LIMITS.maxMessageIdLength) event.event_id = messageId;
  else if (messageId !== undefined && messageId !== null) extra(params, dropped, 'message_id', m.messageId ?? null);

  event.client_ts = clientTs(msg, envelope, receivedAt, params, dropped);

  extra(params, dropped, 'segment_type', type);
  if (fromProps && typeof msg.name === 'string') extra(params, dropped, `${type}_name`, msg.name);
  if (fromProps && typeof msg.category === 'string') extra(params, dropped, `${type}_category`, msg.category);
  if (isObject(context.traits)) {
    const userTraits = context.traits as Record<string, ParamValue>;
    for (const k of Object.keys(userTraits)) setOwn(event.user_props, k, userTraits[k]);
  }
  if (type === 'identify') for (const k of Object.keys(traits)) setOwn(event.user_props, k, traits[k]);
  const hasTraits = Object.keys(traits).length > 0;
  if (type === 'group') {
    extra(params, dropped, 'group_id', m.groupId === undefined ? null : m.groupId);
    if (hasTraits) extra(params, dropped, 'group_traits', traits);
  }
  if (type === 'alias') extra(params, dropped, 'previous_id', m.previousId === undefined ? null : m.previousId);

  // The full IP and the user agent have columns (the IP is truncated at the edge); the rest of the context is kept.
  const restContext = withoutColumns(context);
  if (restContext) extra(params, dropped, 'context', restContext);
  for (const k of Object.keys(m)) {
    if (!KNOWN.has(k)) extra(params, dropped, k, m[k]);
  }
  if (type !== 'identify' && type !== 'group' && hasTraits) extra(params, dropped, 'traits', traits);
  if (!fromProps) {
    if (m.name !== undefined) extra(params, dropped, 'name', m.name);
    if (m.category !== undefined) extra(params, dropped, 'category', m.category);
  }
  if (type !== 'group' && m.groupId !== undefined) extra(params, dropped, 'group_id', m.groupId);
  if (type !== 'alias' && m.previousId !== undefined) extra(params, dropped, 'previous_id', m.previousId);
  if (Object.keys(dropped).length) setOwn(params, DROPPED_PARAM, dropped);
  return event;
}

const EMPTY: Record<string, ParamValue> = Object.freeze({});

/** A field the message carries beside its properties: under its own name, or under `_tally_dropped` on a clash. */
function extra(params: Record<string, ParamValue>, dropped: Record<string, ParamValue>, key: string, value: ParamValue): void {
  if (Object.prototype.hasOwnProperty.call(params, key)) setOwn(dropped, key, value);
  else setOwn(params, key, value);
}

/** The context without `ip` and `userAgent`, or null when nothing else is left. */
function withoutColumns(context: Record<string, ParamValue>): Record<string, ParamValue> | null {
  let rest: Record<string, ParamValue> | null = null;
  for (const k of Object.keys(context)) {
    if (k === 'ip' || k === 'userAgent') continue;
    rest ??= {};
    setOwn(rest, k, context[k]);
  }
  return rest;
}

/**
 * identify with both ids links the anonymous id to the user; alias links previousId to userId.
 * Without both ids they stay plain `identify` / `alias` records (traits, ids kept in params).
 */
function identityLink(type: SegmentType, userId: string | null, anonymousId: string | null, previousId: unknown): IdentityLink | null {
  if (type === 'identify' && userId && anonymousId) return { user_id: userId, client_id: anonymousId, kind: 'identify', source_protocol: 'segment' };
  const previous = typeof previousId === 'number' && Number.isFinite(previousId) ? String(previousId) : previousId;
  if (type === 'alias' && userId && typeof previous === 'string' && previous && previous.length <= SEGMENT_LIMITS.maxIdLength) {
    return { user_id: userId, client_id: previous, kind: 'alias', source_protocol: 'segment' };
  }
  return null;
}

/**
 * Segment's skew correction: timestamp + (receivedAt − sentAt) when the client says when it sent;
 * then clamped to [receipt − 72 h, receipt]. The client's own values stay in params.
 */
function clientTs(
  msg: Json,
  envelope: Envelope | null,
  receivedAt: number,
  params: Record<string, ParamValue>,
  dropped: Record<string, ParamValue>,
): number | null {
  const rawTs = msg.timestamp ?? msg.originalTimestamp;
  const rawSent = msg.sentAt;
  if (rawTs !== undefined && rawTs !== null)
    extra(params, dropped, 'original_timestamp', typeof rawTs === 'string' || typeof rawTs === 'number' ? rawTs : String(rawTs));
  if (rawSent !== undefined && rawSent !== null)
    extra(params, dropped, 'sent_at', typeof rawSent === 'string' || typeof rawSent === 'number' ? rawSent : String(rawSent));
  const ts = time(rawTs);
  if (ts === null) return null;
  const sent = envelope && rawSent === envelope.sentAt ? envelope.sentAtMs : time(rawSent);
  const corrected = sent === null ? ts : ts + (receivedAt - sent);
  return Math.max(receivedAt - SEGMENT_LIMITS.maxLateMs, Math.min(Math.round(corrected), receivedAt));
}

function time(v: unknown): number | null {
  if (typeof v === 'string' && v) {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return null;
}

const CLEAN = 0;
const CONVERT = 1;
const TOO_DEEP = 2;

/**
 * Whether the message can serve as params as it is (CLEAN), needs `toParams` (CONVERT: undefined,
 * non-finite numbers, non-plain objects) or is refused (TOO_DEEP), by the rules of `toParamValue`.
 */
function scan(v: unknown, depth: number): number {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return CLEAN;
  if (typeof v === 'number') return Number.isFinite(v) ? CLEAN : CONVERT;
  if (typeof v !== 'object') return CONVERT;
  if (depth > SEGMENT_LIMITS.maxNestingDepth) return TOO_DEEP;
  let shape = CLEAN;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) shape = CONVERT;
    for (let i = 0; i < v.length; i++) {
      const s = scan(v[i], depth + 1);
      if (s === TOO_DEEP) return TOO_DEEP;
      if (s > shape) shape = s;
    }
    return shape;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) shape = CONVERT;
  const obj = v as Json;
  for (const k of Object.keys(obj)) {
    const s = scan(obj[k], depth + 1);
    if (s === TOO_DEEP) return TOO_DEEP;
    if (s > shape) shape = s;
  }
  return shape;
}

/** The message as JSON-safe params (own properties only, depth-bounded), without the write key; undefined when too deep. */
function toParams(msg: Json): Record<string, ParamValue> | undefined {
  const out: Record<string, ParamValue> = {};
  for (const k of Object.keys(msg)) {
    if (k === 'writeKey') continue;
    const v = toParamValue(msg[k], SEGMENT_PARAM_RULES);
    if (v === undefined) return undefined;
    setOwn(out, k, v);
  }
  return out;
}

const SEGMENT_PARAM_RULES: ParamValueRules = { maxDepth: SEGMENT_LIMITS.maxNestingDepth, unrepresentable: null };

function withoutKey(raw: unknown): unknown {
  if (!isObject(raw) || !('writeKey' in raw)) return raw;
  const { writeKey: _k, ...rest } = raw;
  return rest;
}

function str(v: ParamValue | undefined): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' && v ? v : null;
}

function isObject(v: unknown): v is Json {
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
