import { IDENTITY_LINK_EVENT, identityLinkParams } from '../../domain/identity-link.js';
import type { ParamValue } from '../../domain/raw-event.js';
import { TallyError } from '../../infra/errors.js';
import type { ParsedEvent, RefusedEvent } from '../parsed-event.js';
import { jsonBytesOver } from '../protocols/json-size.js';
import { keepExtraFields, setOwn } from '../protocols/own-property.js';
import { shallowCopy } from '../protocols/shallow-copy.js';

/**
 * What tally.js sends to `POST /t/collect?mid=<measurement id>` (text/plain, by sendBeacon):
 * `{ c?: client id (cookie mode), u?: user id, l?: language, s?: "WxH", cs?: consent,
 *    st: send time ms, e: [{ n: name, u: url, r?: referrer, t?: title, ts: ms, p?: params }] }`.
 * Without `c` the route fills `client_id` with the cookieless visitor hash.
 */
export const TALLY_JS_LIMITS = {
  maxBodyBytes: 64 * 1024,
  maxEvents: 50,
  maxUrl: 8192,
  maxTitle: 2048,
  maxId: 256,
  maxParamsBytes: 8192,
  maxLateMs: 72 * 3_600_000,
} as const;

export interface TallyJsParseResult {
  events: ParsedEvent[];
  refused: RefusedEvent[];
  /** Whether the route must fill `client_id` (and link params) with the cookieless hash. */
  cookieless: boolean;
}

const NAME = /^[A-Za-z0-9_$][A-Za-z0-9_.:$ -]{0,99}$/;
const CLIENT_ID = /^[A-Za-z0-9._-]{1,128}$/;
const EVENT_FIELDS: ReadonlySet<string> = new Set(['n', 'u', 'r', 't', 'ts', 'p']);

export function parseTallyJs(body: unknown, ctx: { receivedAt: number }): TallyJsParseResult {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.e) || !b.e.length) throw bad('"e" must be a non-empty array');
  if (b.e.length > TALLY_JS_LIMITS.maxEvents) throw bad(`at most ${TALLY_JS_LIMITS.maxEvents} events per request`);
  const clientId = optString(b.c, 128, 'c');
  if (clientId && !CLIENT_ID.test(clientId)) throw bad('c: invalid client id');
  const userId = optString(b.u, TALLY_JS_LIMITS.maxId, 'u');
  const language = optString(b.l, 35, 'l');
  const screen = optString(b.s, 20, 's');
  let consent: Record<string, string> | null = null;
  if (b.cs !== undefined && b.cs !== null) {
    if (typeof b.cs !== 'object' || Array.isArray(b.cs)) throw bad('cs: must be an object');
    consent = {};
    for (const [k, v] of Object.entries(b.cs as Record<string, unknown>).slice(0, 20)) setOwn(consent, k.slice(0, 64), String(v).slice(0, 64));
  }
  const sentAt = typeof b.st === 'number' && Number.isFinite(b.st) ? b.st : null;

  const out: TallyJsParseResult = { events: [], refused: [], cookieless: !clientId };
  b.e.forEach((raw, index) => {
    const r = parseOne(raw);
    if (typeof r === 'string') {
      out.refused.push({ index, reason: 'invalid', detail: r, payload: raw });
      return;
    }
    // the browser's clock may be off: keep its spacing between events, anchored at our receipt
    let ts = r.ts !== null && sentAt !== null ? ctx.receivedAt - (sentAt - r.ts) : null;
    if (ts !== null) ts = Math.min(Math.max(Math.round(ts), ctx.receivedAt - TALLY_JS_LIMITS.maxLateMs), ctx.receivedAt);
    let params = r.params;
    if (r.name === IDENTITY_LINK_EVENT) {
      const linked = typeof params.user_id === 'string' && params.user_id ? params.user_id.slice(0, TALLY_JS_LIMITS.maxId) : userId;
      if (!linked) {
        out.refused.push({ index, reason: 'invalid', detail: 'identity link without user_id', payload: raw });
        return;
      }
      params = { ...params, ...identityLinkParams({ user_id: linked, client_id: clientId ?? '', kind: 'user_id', source_protocol: 'tallyjs' }) };
    }
    out.events.push({
      event_id: null,
      protocol: 'tallyjs',
      client_ts: ts,
      name: r.name,
      client_id: clientId,
      user_id: r.name === IDENTITY_LINK_EVENT ? (params.user_id as string) : userId,
      session_id: null,
      url: r.url,
      referrer: r.referrer,
      title: r.title,
      ua: null,
      ip: null,
      geo: null,
      language,
      screen,
      consent,
      params,
      user_props: {},
    });
  });
  return out;
}

function parseOne(
  raw: unknown,
): { name: string; url: string | null; referrer: string | null; title: string | null; ts: number | null; params: Record<string, ParamValue> } | string {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'event must be an object';
  const e = raw as Record<string, unknown>;
  if (typeof e.n !== 'string' || !NAME.test(e.n)) return 'n: event name (letters, digits, _ . : $ - and spaces, at most 100)';
  const url = str(e.u, TALLY_JS_LIMITS.maxUrl);
  const referrer = str(e.r, TALLY_JS_LIMITS.maxUrl);
  const title = str(e.t, TALLY_JS_LIMITS.maxTitle);
  if (url === false || referrer === false || title === false) return `u, r, t: strings of at most ${TALLY_JS_LIMITS.maxUrl} characters`;
  if (e.ts !== undefined && (typeof e.ts !== 'number' || !Number.isFinite(e.ts))) return 'ts: epoch milliseconds';
  let params: Record<string, ParamValue> = {};
  if (e.p !== undefined && e.p !== null) {
    if (typeof e.p !== 'object' || Array.isArray(e.p)) return 'p: must be an object';
    const over = jsonBytesOver(e.p, TALLY_JS_LIMITS.maxParamsBytes);
    if (over === null) return 'p: nested too deeply';
    if (over) return `p: larger than ${TALLY_JS_LIMITS.maxParamsBytes} bytes`;
    params = shallowCopy(e.p as Record<string, ParamValue>);
  }
  keepExtraFields(params, e as Record<string, ParamValue>, EVENT_FIELDS);
  return { name: e.n, url, referrer, title, ts: typeof e.ts === 'number' ? e.ts : null, params };
}

/** null when absent or empty, false when not a string of at most `max` characters. */
function str(v: unknown, max: number): string | null | false {
  return v === undefined || v === null || v === '' ? null : typeof v === 'string' && v.length <= max ? v : false;
}

function optString(v: unknown, max: number, field: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || v.length > max) throw bad(`${field}: a string of at most ${max} characters`);
  return v;
}

function bad(message: string): TallyError {
  return new TallyError('malformed_body', message, { reason: 'invalid_payload' });
}
