import type { RawEvent } from '../domain/raw-event.js';

/**
 * Every field of `RawEvent`, as `write` writes them (the optional ones only when set, in the order
 * `toRawEvent` and `accept` set them): a field added to `RawEvent` fails the type check here until
 * `write` writes it.
 */
export const WRITTEN_FIELDS: Record<keyof Required<RawEvent>, true> = {
  event_id: true,
  tenant_id: true,
  property_id: true,
  protocol: true,
  received_at: true,
  client_ts: true,
  name: true,
  client_id: true,
  user_id: true,
  session_id: true,
  url: true,
  referrer: true,
  title: true,
  ua: true,
  ua_source: true,
  ip_trunc: true,
  ip_source: true,
  country: true,
  region: true,
  city: true,
  language: true,
  screen: true,
  consent: true,
  params: true,
  user_props: true,
  traffic_type: true,
  over_quota: true,
};

/** A JSON value as `JSON.stringify` writes it inside an object (a field the event lacks is written as null). */
function json(v: unknown): string {
  return v === null || v === undefined ? 'null' : JSON.stringify(v);
}

/**
 * The log record of a raw event, written field by field in `RawEvent`'s order: the same text as
 * `JSON.stringify(event)`, without walking the fields a request's events share. The tenant part
 * (tenant, property, protocol) and the visitor part (UA, truncated IP, geo) are written once and
 * reused while the next event has the same values, which every event of one request has (and the
 * tenant part every request of a property). One writer per caller; it holds the last two parts, nothing else.
 */
export class RawEventJson {
  private tenant: { t: string; p: string; pr: string; text: string } | null = null;
  private visitor: {
    ua: string | null;
    uaSource: string;
    ip: string | null;
    ipSource: string;
    country: string | null;
    region: string | null;
    city: string | null;
    text: string;
  } | null = null;

  /** Throws what `JSON.stringify` throws (a RangeError on params nested too deeply). */
  write(e: RawEvent): string {
    let t = this.tenant;
    if (!t || t.t !== e.tenant_id || t.p !== e.property_id || t.pr !== e.protocol) {
      const text = `,"tenant_id":${json(e.tenant_id)},"property_id":${json(e.property_id)},"protocol":${json(e.protocol)},"received_at":`;
      t = this.tenant = { t: e.tenant_id, p: e.property_id, pr: e.protocol, text };
    }
    let v = this.visitor;
    if (
      !v ||
      v.ua !== e.ua ||
      v.uaSource !== e.ua_source ||
      v.ip !== e.ip_trunc ||
      v.ipSource !== e.ip_source ||
      v.country !== e.country ||
      v.region !== e.region ||
      v.city !== e.city
    ) {
      const text =
        `,"ua":${json(e.ua)},"ua_source":${json(e.ua_source)},"ip_trunc":${json(e.ip_trunc)},"ip_source":${json(e.ip_source)}` +
        `,"country":${json(e.country)},"region":${json(e.region)},"city":${json(e.city)}`;
      v = this.visitor = { ua: e.ua, uaSource: e.ua_source, ip: e.ip_trunc, ipSource: e.ip_source, country: e.country, region: e.region, city: e.city, text };
    }
    return (
      '{"event_id":' +
      json(e.event_id) +
      t.text +
      json(e.received_at) +
      ',"client_ts":' +
      json(e.client_ts) +
      ',"name":' +
      json(e.name) +
      ',"client_id":' +
      json(e.client_id) +
      ',"user_id":' +
      json(e.user_id) +
      ',"session_id":' +
      json(e.session_id) +
      ',"url":' +
      json(e.url) +
      ',"referrer":' +
      json(e.referrer) +
      ',"title":' +
      json(e.title) +
      v.text +
      ',"language":' +
      json(e.language) +
      ',"screen":' +
      json(e.screen) +
      ',"consent":' +
      json(e.consent) +
      ',"params":' +
      json(e.params) +
      ',"user_props":' +
      json(e.user_props) +
      // set by the edge after the record is built (internal traffic), then over_quota by admission
      (e.traffic_type !== undefined ? ',"traffic_type":' + json(e.traffic_type) : '') +
      (e.over_quota ? ',"over_quota":true}' : '}')
    );
  }
}
