import { createHash } from 'node:crypto';
import type { ParamValue, Protocol } from '../../domain/raw-event.js';
import { blankEvent, type ParsedEvent, type RefusedEvent } from '../parsed-event.js';
import { setOwn, setOwnIfAbsent } from './own-property.js';
import { formEntries } from './urlencoded.js';

/**
 * gtag.js GA4 web hits (`/g/collect`, protocol v=2): shared parameters in the query string, one
 * event per body line (each line a urlencoded parameter string overriding the query's), or the
 * query alone as one event when the body is empty. Pure; PROTOCOLS.md §2 is the reference.
 */

export const GTAG_LIMITS = {
  /** sendBeacon caps a body at 64 KB; this leaves room for fetch/XHR transports. */
  maxBodyBytes: 256 * 1024,
  maxEventsPerRequest: 500,
  maxValueLength: 8192,
  maxNameLength: 100,
  maxItems: 200,
} as const;

export interface GtagParseResult {
  events: ParsedEvent[];
  refused: RefusedEvent[];
}

/** One hit: the query's parameters overridden by one body line's, in order. */
export type HitParams = Map<string, string>;

// Maps, not object literals: a lookup by parameter name must not find `constructor` or `toString`.
const COLUMNS: ReadonlyMap<string, 'client_id' | 'user_id' | 'session_id' | 'url' | 'referrer' | 'title' | 'language' | 'screen'> = new Map([
  ['cid', 'client_id'],
  ['uid', 'user_id'],
  ['sid', 'session_id'],
  ['dl', 'url'],
  ['dr', 'referrer'],
  ['dt', 'title'],
  ['ul', 'language'],
  ['sr', 'screen'],
] as const);
/** Shared parameters with a GA4 event-parameter name of their own (engagement, session, campaign). */
const RENAMED: ReadonlyMap<string, [string, 'string' | 'number']> = new Map([
  ['_et', ['engagement_time_msec', 'number']],
  ['seg', ['session_engaged', 'string']],
  ['sct', ['session_number', 'number']],
  ['cu', ['currency', 'string']],
  ['_dbg', ['debug_mode', 'string']],
  ['cm', ['campaign_medium', 'string']],
  ['ct', ['campaign_term', 'string']],
  ['cc', ['campaign_content', 'string']],
]);
const PROMOTION_EVENTS: ReadonlySet<string> = new Set(['view_promotion', 'select_promotion']);
const CONSENT_KEYS: ReadonlySet<string> = new Set(['gcs', 'gcd', 'gcu', 'gcut']);
const ITEM_FIELDS: ReadonlyMap<string, readonly [string, 'string' | 'number']> = new Map(
  Object.entries({
    id: ['item_id', 'string'],
    nm: ['item_name', 'string'],
    br: ['item_brand', 'string'],
    ca: ['item_category', 'string'],
    c2: ['item_category2', 'string'],
    c3: ['item_category3', 'string'],
    c4: ['item_category4', 'string'],
    c5: ['item_category5', 'string'],
    pr: ['price', 'number'],
    qt: ['quantity', 'number'],
    va: ['item_variant', 'string'],
    cp: ['coupon', 'string'],
    ds: ['discount', 'number'],
    ln: ['item_list_name', 'string'],
    li: ['item_list_id', 'string'],
    lp: ['index', 'number'],
    af: ['affiliation', 'string'],
    lo: ['location_id', 'string'],
    cn: ['creative_name', 'string'],
    cs: ['creative_slot', 'string'],
    pi: ['promotion_id', 'string'],
    pn: ['promotion_name', 'string'],
  } as const),
);
const ITEM_KEY = /^pr([1-9]\d{0,2})$/;
const CUSTOM_ITEM_FIELD = /^([kv])(\d{1,3})(.*)$/s;
// eslint-disable-next-line no-control-regex -- a GA4 name may not contain control characters
const NAME = /^[^\u0000-\u001f]+$/;
const MAX_EVENT_ID = 128;

/** The hits of a request; the measurement id is read from them by `gtagMeasurementId`. */
export function gtagHits(query: URLSearchParams, body: string): HitParams[] {
  const shared = new Map(query);
  const sharedEntries = [...shared];
  const hits: HitParams[] = [];
  for (const raw of body.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    // filled from empty: measured faster than copying `shared` and then setting the line's parameters
    const hit: HitParams = new Map();
    for (const [k, v] of sharedEntries) hit.set(k, v);
    for (const [k, v] of formEntries(line)) hit.set(k, v);
    hits.push(hit);
  }
  return hits.length ? hits : [shared];
}

/** `tid` of the first hit that has one: gtag sends it in the query string, shared by every line. */
export function gtagMeasurementId(hits: HitParams[]): string | null {
  for (const h of hits) {
    const tid = h.get('tid');
    if (tid) return tid;
  }
  return null;
}

/**
 * Every hit of a request as an event, or refused. Hits naming another `tid` than the one the
 * request was resolved by are refused, so one request never writes to two properties.
 */
export function parseGtag(hits: HitParams[], measurementId: string): GtagParseResult {
  const out: GtagParseResult = { events: [], refused: [] };
  for (let index = 0; index < hits.length; index++) {
    const hit = hits[index];
    if (index >= GTAG_LIMITS.maxEventsPerRequest) {
      out.refused.push({ index, reason: 'over_limit', detail: `at most ${GTAG_LIMITS.maxEventsPerRequest} events per request`, payload: toPayload(hit) });
      continue;
    }
    const tid = hit.get('tid');
    if (tid && tid !== measurementId) {
      out.refused.push({ index, reason: 'unknown_property', detail: `tid ${tid} differs from the request's ${measurementId}`, payload: toPayload(hit) });
      continue;
    }
    const r = parseGtagHit(hit, { protocol: 'gtag', index });
    if ('reason' in r) out.refused.push(r);
    else out.events.push(r);
  }
  return out;
}

export interface HitOptions {
  protocol: Protocol;
  /** Position of the hit in its request; part of the synthesized event id. */
  index: number;
  /** Event name when the hit has no `en` (the pixel defaults to page_view); none: `en` is required. */
  defaultName?: string;
  /** Hit parameter carrying the client's own event id (the pixel's `eid`). */
  eventIdParam?: string;
}

function refusal(hit: HitParams, index: number, reason: RefusedEvent['reason'], detail: string): RefusedEvent {
  return { index, reason, detail, payload: toPayload(hit) };
}

/** One hit's parameters -> a ParsedEvent, or a refusal. Unmapped parameters are kept in params under their own name. */
export function parseGtagHit(hit: HitParams, opts: HitOptions): ParsedEvent | RefusedEvent {
  for (const [k, v] of hit) {
    if (v.length > GTAG_LIMITS.maxValueLength) return refusal(hit, opts.index, 'over_limit', `${k}: longer than ${GTAG_LIMITS.maxValueLength} characters`);
  }
  const name = hit.get('en') || opts.defaultName;
  if (!name) return refusal(hit, opts.index, 'invalid', 'en: the event name is required');
  if (name.length > GTAG_LIMITS.maxNameLength || !NAME.test(name))
    return refusal(hit, opts.index, 'invalid', `en: invalid event name (at most ${GTAG_LIMITS.maxNameLength} printable characters)`);

  const event = blankEvent(opts.protocol, name);
  const items: [number, ParamValue][] = [];
  const consent: Record<string, string> = {};
  let item: RegExpExecArray | null;
  let renamed: [string, 'string' | 'number'] | undefined;
  for (const [key, value] of hit) {
    const column = COLUMNS.get(key);
    if (column) {
      event[column] = value || null;
      continue;
    }
    if (key === 'en' || key === opts.eventIdParam) continue;
    if (key.startsWith('ep.') && key.length > 3) setOwn(event.params, key.slice(3), value);
    else if (key.startsWith('epn.') && key.length > 4) setOwn(event.params, key.slice(4), numeric(value));
    else if (key.startsWith('up.') && key.length > 3) setOwn(event.user_props, key.slice(3), value);
    else if (key.startsWith('upn.') && key.length > 4) setOwn(event.user_props, key.slice(4), numeric(value));
    else if (CONSENT_KEYS.has(key)) consent[key] = value;
    else if (key.startsWith('pr') && (item = ITEM_KEY.exec(key))) {
      if (items.length >= GTAG_LIMITS.maxItems) return refusal(hit, opts.index, 'over_limit', `at most ${GTAG_LIMITS.maxItems} items per event`);
      items.push([Number(item[1]), parseItem(value)]);
    } else if (key === 'cs' || key === 'cn') {
      const promo = PROMOTION_EVENTS.has(name);
      const target = key === 'cs' ? (promo ? 'creative_slot' : 'campaign_source') : promo ? 'creative_name' : 'campaign_name';
      setOwnIfAbsent(event.params, target, value);
    } else if ((renamed = RENAMED.get(key))) {
      const [target, type] = renamed;
      setOwnIfAbsent(event.params, target, type === 'number' ? numeric(value) : value);
    } else setOwnIfAbsent(event.params, key, value);
  }
  if (items.length)
    setOwn(
      event.params,
      'items',
      items.sort((a, b) => a[0] - b[0]).map(([, item]) => item),
    );
  if (Object.keys(consent).length) event.consent = { ...consent, ...consentStates(consent.gcs) };

  const own = opts.eventIdParam ? hit.get(opts.eventIdParam) : undefined;
  if (own) event.event_id = own.length <= MAX_EVENT_ID ? own : null;
  else event.event_id = naturalKey(hit, opts.index, name);
  return event;
}

/**
 * gtag sends no event id. `cid` + `_p` (page load) + `_s` (hit counter in the page load) + the
 * line + the name identify a hit, so a resent request keeps its ids and is deduplicated.
 */
function naturalKey(hit: HitParams, index: number, name: string): string | null {
  const cid = hit.get('cid');
  const p = hit.get('_p');
  const s = hit.get('_s');
  if (!cid || !p || !s) return null;
  const key = `g2.${cid}.${p}.${s}.${index}.${name}`;
  return key.length <= MAX_EVENT_ID ? key : `g2.${createHash('sha256').update(key).digest('hex')}`;
}

/** `gcs=G1xy`: x = ad_storage, y = analytics_storage, 1 granted, 0 denied. */
function consentStates(gcs: string | undefined): Record<string, string> {
  const m = gcs ? /^G1([01-])([01-])$/.exec(gcs) : null;
  if (!m) return {};
  const state = (c: string) => (c === '1' ? 'GRANTED' : c === '0' ? 'DENIED' : null);
  const out: Record<string, string> = {};
  const ad = state(m[1]);
  const analytics = state(m[2]);
  if (ad) out.ad_storage = ad;
  if (analytics) out.analytics_storage = analytics;
  return out;
}

/** `idSKU1~nmShoe~pr9.99~qt1~k0color~v0red` -> { item_id, item_name, price, quantity, color }. */
function parseItem(value: string): ParamValue {
  const item: Record<string, ParamValue> = {};
  const customKeys = new Map<string, string>();
  const customValues = new Map<string, string>();
  for (const field of value.split('~')) {
    if (field.length < 2) continue;
    const custom = CUSTOM_ITEM_FIELD.exec(field);
    if (custom) {
      (custom[1] === 'k' ? customKeys : customValues).set(custom[2], custom[3]);
      continue;
    }
    const prefix = field.slice(0, 2);
    const rest = field.slice(2);
    const known = ITEM_FIELDS.get(prefix);
    if (known) setOwn(item, known[0], known[1] === 'number' ? numeric(rest) : rest);
    else setOwnIfAbsent(item, prefix, rest);
  }
  for (const [i, k] of customKeys) if (k) setOwnIfAbsent(item, k, customValues.get(i) ?? null);
  for (const [i, v] of customValues) if (!customKeys.has(i)) setOwnIfAbsent(item, `v${i}`, v);
  return item;
}

/** A number when the text is one, else the text itself (never lost, never NaN). */
function numeric(v: string): string | number {
  if (v.trim() === '') return v;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}

function toPayload(hit: HitParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of hit) setOwn(out, k, v);
  return out;
}
