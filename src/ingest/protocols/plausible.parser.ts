import type { ParamValue } from '../../domain/raw-event.js';
import { blankEvent, DROPPED_PARAM, type ParsedEvent } from '../parsed-event.js';
import { assignOwn, setOwn } from './own-property.js';

/**
 * Plausible Events API (`POST /api/event`, PROTOCOLS.md §5): one event per request, short or long
 * keys, validated the way Plausible's `Ingestion.Request` does. The visitor id is not in the
 * payload: the route fills `client_id` with the cookieless hash.
 */
export const PLAUSIBLE_LIMITS = {
  maxBodyBytes: 1_000_000,
  maxNameLength: 120,
  maxUrlBytes: 2000,
  maxReferrerLength: 2000,
  maxProps: 30,
  maxPropKeyBytes: 300,
  maxPropValueBytes: 2000,
  maxDomains: 10,
} as const;

/** Plausible's error body: `{ "errors": { field: [message] } }`. */
export type PlausibleErrors = Record<string, string[]>;

export type PlausibleParseResult = { ok: true; domains: string[]; event: ParsedEvent } | { ok: false; errors: PlausibleErrors };

const LONG: Record<string, string> = {
  n: 'name',
  u: 'url',
  d: 'domain',
  r: 'referrer',
  p: 'props',
  m: 'meta',
  $: 'revenue',
  h: 'hashMode',
  i: 'interactive',
  w: 'screen_width',
};
const HANDLED = new Set(['name', 'url', 'domain', 'referrer', 'props', 'meta', 'revenue', 'hashMode', 'interactive', 'sd', 'e', 'v']);

export function parsePlausible(body: unknown): PlausibleParseResult {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return fail('request', 'must be a JSON object');
  const raw = body as Record<string, unknown>;
  const b: Record<string, unknown> = {};
  // the short key wins when both are sent, as Plausible reads `body["n"] || body["name"]`
  const keys = Object.keys(raw);
  for (const k of keys) if (Object.hasOwn(LONG, k) && raw[k] !== undefined && raw[k] !== null) b[LONG[k]] = raw[k];
  for (const k of keys) if (!Object.hasOwn(LONG, k)) putIfAbsent(b, k, raw[k]);

  const errors: PlausibleErrors = {};

  let name: string | null = null;
  if (typeof b.name === 'string' && b.name.trim()) name = b.name;
  else if (typeof b.name === 'number' && Number.isInteger(b.name)) name = String(b.name);
  else addError(errors, 'name', "can't be blank");
  if (name && name.length > PLAUSIBLE_LIMITS.maxNameLength) addError(errors, 'name', `should be at most ${PLAUSIBLE_LIMITS.maxNameLength} character(s)`);

  let url: URL | null = null;
  if (typeof b.url !== 'string' || !b.url) addError(errors, 'url', 'is required');
  else if (Buffer.byteLength(b.url) > PLAUSIBLE_LIMITS.maxUrlBytes) addError(errors, 'url', `must be a string, at most ${PLAUSIBLE_LIMITS.maxUrlBytes} bytes`);
  else {
    url = parseUrl(b.url);
    if (!url || url.protocol === 'data:') addError(errors, 'url', 'is invalid');
  }

  let domains: string[] = [];
  if (b.domain !== undefined && b.domain !== null && typeof b.domain !== 'string') addError(errors, 'domain', 'is invalid');
  else {
    const listed = typeof b.domain === 'string' ? b.domain.split(',') : url ? [url.hostname] : [];
    domains = uniqueDomains(listed);
    if (!domains.length && url) addError(errors, 'domain', "can't be blank");
  }

  let referrer: string | null = null;
  if (typeof b.referrer === 'string') referrer = b.referrer.slice(0, PLAUSIBLE_LIMITS.maxReferrerLength) || null;
  else if (b.referrer !== undefined && b.referrer !== null) addError(errors, 'referrer', 'is invalid');

  const props: Record<string, ParamValue> = {};
  for (const field of ['meta', 'props'] as const) {
    const r = parseProps(b[field]);
    if (typeof r === 'string') addError(errors, 'props', r);
    else assignOwn(props, r);
  }

  let revenue: { amount: number; currency: string } | null = null;
  if (b.revenue !== undefined && b.revenue !== null) {
    const r = b.revenue as Record<string, unknown>;
    const amount = typeof r?.amount === 'number' ? r.amount : typeof r?.amount === 'string' ? Number(r.amount) : NaN;
    if (typeof r !== 'object' || !Number.isFinite(amount) || typeof r.currency !== 'string' || !/^[A-Za-z]{3}$/.test(r.currency)) {
      addError(errors, 'revenue', 'must be {"amount": number, "currency": ISO 4217 code}');
    } else revenue = { amount, currency: r.currency.toUpperCase() };
  }

  let scrollDepth: number | null = null;
  let engagementMs: number | null = null;
  if (b.sd !== undefined && b.sd !== null) {
    if (typeof b.sd !== 'number' || !Number.isFinite(b.sd)) addError(errors, 'sd', 'is invalid');
    else scrollDepth = Math.max(0, Math.min(100, Math.round(b.sd)));
  }
  if (b.e !== undefined && b.e !== null) {
    if (typeof b.e !== 'number' || !Number.isFinite(b.e) || b.e < 0) addError(errors, 'e', 'is invalid');
    else engagementMs = Math.round(b.e);
  }
  if (name === 'engagement' && scrollDepth === null && engagementMs === null) addError(errors, 'event', 'engagement requires sd or e');
  if (Object.keys(errors).length || !name || !url) return { ok: false, errors };

  const hashMode = b.hashMode === 1 || b.hashMode === true || b.hashMode === '1';
  if (!hashMode) url.hash = '';

  const params: Record<string, ParamValue> = {};
  putIfAbsent(params, '_tally_source_name', name);
  if (revenue) {
    putIfAbsent(params, 'value', revenue.amount);
    putIfAbsent(params, 'currency', revenue.currency);
  }
  if (b.interactive === false) putIfAbsent(params, 'non_interaction', true);
  if (engagementMs !== null) putIfAbsent(params, 'engagement_time_msec', engagementMs);
  if (scrollDepth !== null) putIfAbsent(params, 'percent_scrolled', scrollDepth);
  if (typeof b.v === 'number' || typeof b.v === 'string') putIfAbsent(params, 'tracker_version', b.v);
  if (hashMode) putIfAbsent(params, 'hash_mode', true);
  if (b.screen_width !== undefined) putIfAbsent(params, 'screen_width', b.screen_width as ParamValue);
  for (const k of Object.keys(b)) {
    if (!HANDLED.has(k) && k !== 'screen_width' && b[k] !== undefined) putIfAbsent(params, k, b[k] as ParamValue);
  }
  const dropped: Record<string, ParamValue> = {};
  for (const k of Object.keys(props)) {
    if (Object.hasOwn(params, k)) dropped[`props.${k}`] = props[k];
    else setOwn(params, k, props[k]);
  }
  if (Object.keys(dropped).length) params[DROPPED_PARAM] = dropped;

  const event = blankEvent('plausible', name === 'pageview' ? 'page_view' : name === 'engagement' ? 'user_engagement' : name);
  event.url = url.href;
  event.referrer = referrer;
  event.params = params;
  return { ok: true, domains, event };
}

/** setOwnIfAbsent with the store in this module: the shared store site goes megamorphic (~10 % slower here). */
function putIfAbsent<T>(obj: Record<string, T>, k: string, v: T): void {
  if (Object.hasOwn(obj, k)) return;
  if (k === '__proto__') setOwn(obj, k, v);
  else obj[k] = v;
}

function addError(errors: PlausibleErrors, field: string, message: string): void {
  (errors[field] ??= []).push(message);
}

/** The URL, or null when it does not parse (one parse, where URL.canParse + new URL made two). */
function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/** Normalized, without blanks or repeats, at most maxDomains. */
function uniqueDomains(listed: string[]): string[] {
  const seen = new Set<string>();
  for (const d of listed) {
    const n = normalizeDomain(d);
    if (n) seen.add(n);
  }
  return [...seen].slice(0, PLAUSIBLE_LIMITS.maxDomains);
}

/** `www.` stripped and lowercased, as Plausible stores site domains. */
export function normalizeDomain(d: string): string {
  return d
    .trim()
    .toLowerCase()
    .replace(/^www\./, '');
}

/** Flat props: nested values and blanks dropped, at most 30, key ≤ 300 bytes, value ≤ 2000 bytes. */
function parseProps(v: unknown): Record<string, ParamValue> | string {
  if (v === undefined || v === null) return {};
  let obj = v;
  if (typeof v === 'string') {
    try {
      obj = JSON.parse(v);
    } catch {
      return 'must be a JSON object';
    }
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return 'must be a JSON object';
  const out: Record<string, ParamValue> = {};
  let n = 0;
  for (const [k, raw] of Object.entries(obj)) {
    if (raw === null || raw === '' || typeof raw === 'object') continue;
    if (n >= PLAUSIBLE_LIMITS.maxProps) break;
    const value = typeof raw === 'string' ? raw : String(raw);
    if (Buffer.byteLength(k) > PLAUSIBLE_LIMITS.maxPropKeyBytes) return `keys should have at most ${PLAUSIBLE_LIMITS.maxPropKeyBytes} bytes`;
    if (Buffer.byteLength(value) > PLAUSIBLE_LIMITS.maxPropValueBytes) return `values should have at most ${PLAUSIBLE_LIMITS.maxPropValueBytes} bytes`;
    setOwn(out, k, value);
    n++;
  }
  return out;
}

function fail(field: string, message: string): PlausibleParseResult {
  return { ok: false, errors: { [field]: [message] } };
}
