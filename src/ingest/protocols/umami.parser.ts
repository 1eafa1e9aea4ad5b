import { IDENTITY_LINK_EVENT } from '../../domain/identity-link.js';
import type { ParamValue } from '../../domain/raw-event.js';
import { DROPPED_PARAM, type ParsedEvent } from '../parsed-event.js';
import { jsonBytesOver } from './json-size.js';
import { assignOwn, setOwn } from './own-property.js';

/**
 * Umami (`POST /api/send`, `POST /api/batch`; PROTOCOLS.md §6): `{ type, payload }`, checked
 * like Umami's zod schema. `payload.website` is our property's measurement id (`G-…`) or its
 * numeric property id; the route resolves it. Without `payload.id` the route fills `client_id`
 * with the cookieless visitor hash.
 */
export const UMAMI_LIMITS = {
  maxBodyBytes: 1024 * 1024,
  maxBatch: 100,
  maxHostname: 100,
  maxLanguage: 35,
  maxScreen: 11,
  maxName: 50,
  maxTag: 50,
  maxId: 256,
  maxString: 8192,
  maxDataBytes: 64 * 1024,
  maxLateMs: 72 * 3_600_000,
} as const;

export type UmamiParseResult = { ok: true; website: string; event: ParsedEvent } | { ok: false; error: string };

const TYPES = new Set(['event', 'identify', 'performance']);
const STRINGS: Record<string, number> = {
  website: 100,
  hostname: UMAMI_LIMITS.maxHostname,
  language: UMAMI_LIMITS.maxLanguage,
  screen: UMAMI_LIMITS.maxScreen,
  name: UMAMI_LIMITS.maxName,
  tag: UMAMI_LIMITS.maxTag,
  id: UMAMI_LIMITS.maxId,
  url: UMAMI_LIMITS.maxString,
  referrer: UMAMI_LIMITS.maxString,
  title: UMAMI_LIMITS.maxString,
  ip: 64,
  userAgent: UMAMI_LIMITS.maxString,
  browser: 100,
  os: 100,
  device: 100,
};
const STRING_FIELDS = Object.entries(STRINGS);
const VITALS = ['lcp', 'inp', 'cls', 'fcp', 'ttfb'];
const MAPPED = new Set(['website', 'hostname', 'language', 'screen', 'name', 'id', 'url', 'referrer', 'title', 'ip', 'userAgent', 'data', 'timestamp']);

export function parseUmami(body: unknown, ctx: { receivedAt: number }): UmamiParseResult {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { ok: false, error: 'body: expected an object' };
  const { type, payload } = body as { type?: unknown; payload?: unknown };
  if (typeof type !== 'string' || !TYPES.has(type)) return { ok: false, error: 'type: expected "event", "identify" or "performance"' };
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return { ok: false, error: 'payload: expected an object' };
  const p = payload as Record<string, unknown>;

  const s: Record<string, string | null> = {};
  for (const [f, max] of STRING_FIELDS) {
    const v = p[f];
    if (v === undefined || v === null || v === '') s[f] = null;
    else if (typeof v !== 'string') return { ok: false, error: `payload.${f}: expected a string` };
    else if (v.length > max) return { ok: false, error: `payload.${f}: at most ${max} characters` };
    else s[f] = v;
  }
  if (!s.website) return { ok: false, error: 'payload.website: required' };
  for (const f of VITALS)
    if (p[f] !== undefined && p[f] !== null && (typeof p[f] !== 'number' || !Number.isFinite(p[f])))
      return { ok: false, error: `payload.${f}: expected a number` };

  let data: Record<string, ParamValue> = {};
  if (p.data !== undefined && p.data !== null) {
    if (typeof p.data !== 'object' || Array.isArray(p.data)) return { ok: false, error: 'payload.data: expected an object' };
    // JSON.stringify throws on nesting deep enough to overflow the stack, which JSON.parse accepts
    const over = jsonBytesOver(p.data, UMAMI_LIMITS.maxDataBytes);
    if (over === null) return { ok: false, error: 'payload.data: nested too deeply' };
    if (over) return { ok: false, error: `payload.data: larger than ${UMAMI_LIMITS.maxDataBytes} bytes` };
    data = { ...(p.data as Record<string, ParamValue>) };
  }

  const dropped: Record<string, ParamValue> = {};
  let clientTs: number | null = null;
  if (p.timestamp !== undefined && p.timestamp !== null) {
    const t = typeof p.timestamp === 'number' ? p.timestamp : typeof p.timestamp === 'string' && /^\d+(\.\d+)?$/.test(p.timestamp) ? Number(p.timestamp) : NaN;
    if (!Number.isFinite(t) || t < 0) return { ok: false, error: 'payload.timestamp: expected unix seconds' };
    const ms = Math.round(t * 1000);
    clientTs = Math.min(Math.max(ms, ctx.receivedAt - UMAMI_LIMITS.maxLateMs), ctx.receivedAt);
    if (clientTs !== ms) dropped.timestamp = t;
  }

  const base = s.hostname ? `https://${s.hostname}` : null;
  const url = absolute(s.url, base) ?? (base ? `${base}/` : null);
  const referrer = absolute(s.referrer, base);

  const params: Record<string, ParamValue> = {};
  const userProps: Record<string, ParamValue> = {};
  let name: string;
  const userId: string | null = s.id;
  if (type === 'identify') {
    assignOwn(userProps, data);
    if (s.id) {
      name = IDENTITY_LINK_EVENT;
      Object.assign(params, { user_id: s.id, client_id: null, link_kind: 'identify', source_protocol: 'umami' });
    } else name = 'umami_identify';
  } else if (type === 'performance') {
    name = 'web_vitals';
    assignOwn(params, data);
  } else {
    name = s.name ?? 'page_view';
    assignOwn(params, data);
  }
  put(params, dropped, '_tally_source_name', type === 'event' ? (s.name ?? '(pageview)') : type);
  if (s.hostname) put(params, dropped, 'hostname', s.hostname);
  for (const k of Object.keys(p)) if (!MAPPED.has(k) && p[k] !== undefined && p[k] !== null) put(params, dropped, k, p[k] as ParamValue);
  if (Object.keys(dropped).length) params[DROPPED_PARAM] = dropped;

  return {
    ok: true,
    website: s.website,
    event: {
      event_id: null,
      protocol: 'umami',
      client_ts: clientTs,
      name,
      // identify links the hash (filled by the route) to the id; events with an id are that id's
      client_id: type === 'identify' ? null : s.id,
      user_id: userId,
      session_id: null,
      url,
      referrer,
      title: s.title,
      ua: s.userAgent,
      ip: s.ip,
      geo: null,
      language: s.language,
      screen: s.screen,
      consent: null,
      params,
      user_props: userProps,
    },
  };
}

/** A payload value under its own name, or under `_tally_dropped` when params already has that name. */
function put(params: Record<string, ParamValue>, dropped: Record<string, ParamValue>, k: string, v: ParamValue): void {
  if (Object.hasOwn(params, k)) dropped[`payload.${k}`] = v;
  else setOwn(params, k, v);
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** Umami sends paths relative to the page's hostname; other values are kept as sent. */
function absolute(v: string | null, base: string | null): string | null {
  if (!v) return null;
  if (SCHEME.test(v)) return v;
  if (base && v.startsWith('/')) {
    // one parse, where URL.canParse + new URL made two
    try {
      return new URL(v, base).href;
    } catch {
      return v;
    }
  }
  return v;
}
