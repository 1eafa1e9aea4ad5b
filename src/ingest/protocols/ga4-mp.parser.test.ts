import { KNOWN_TOP_LEVEL } from './ga4-mp.request.js';
import { describe, expect, it } from 'vitest';
import { TallyError } from '../../infra/errors.js';
import type { ParamValue } from '../../domain/raw-event.js';
import { DROPPED_PARAM } from '../parsed-event.js';
import { USER_PROPERTY_TIMESTAMPS_PARAM } from './ga4-mp.event.js';
import type { ValidationMessage } from './ga4-mp.findings.js';
import { parseGa4Mp, parseGa4MpBody, type Ga4MpParseResult } from './ga4-mp.parser.js';
import {
  GA4_MP_LIMITS,
  NAME_PATTERN,
  RESERVED_APP_EVENT_NAMES,
  RESERVED_EVENT_NAMES,
  RESERVED_PARAM_PREFIXES,
  RESERVED_USER_PROPERTY_NAMES,
  RESERVED_USER_PROPERTY_PREFIXES,
} from './ga4-mp.limits.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;
const ENFORCE = { validation_behavior: 'ENFORCE_RECOMMENDATIONS' } as const;

type Body = Record<string, unknown>;

function parse(body: unknown): Ga4MpParseResult {
  return parseGa4Mp(body, { receivedAt: NOW });
}

/** A valid request with one event per given params object. */
function req(extra: Body = {}, ...eventParams: Array<Record<string, unknown>>): Body {
  const events = (eventParams.length ? eventParams : [{}]).map((params, i) => ({ name: `event_${i}`, params }));
  return { client_id: '123.456', events, ...extra };
}

function accepted(body: unknown) {
  const r = parse(body);
  expect(r.refused).toEqual([]);
  expect(r.validationMessages).toEqual([]);
  return r.events;
}

function one(body: unknown) {
  const events = accepted(body);
  expect(events).toHaveLength(1);
  return events[0];
}

function msg(fieldPath: string, validationCode: ValidationMessage['validationCode']) {
  return expect.objectContaining({ fieldPath, validationCode });
}

function refusedOnly(body: unknown, fieldPath: string, code: ValidationMessage['validationCode']) {
  const r = parse(body);
  expect(r.events).toEqual([]);
  expect(r.validationMessages).toContainEqual(msg(fieldPath, code));
  return r;
}

const repeat = (n: number, ch = 'a') => ch.repeat(n);
const paramsOf = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, i]));

describe('parseGa4MpBody', () => {
  it('parses a JSON object whatever the bytes claim, with or without a UTF-8 BOM', () => {
    const body = { client_id: '1.2', events: [{ name: 'x' }] };
    expect(parseGa4MpBody(Buffer.from(JSON.stringify(body)))).toEqual(body);
    expect(parseGa4MpBody(Buffer.from('\uFEFF' + JSON.stringify(body)))).toEqual(body);
  });

  it.each([
    ['empty', Buffer.from('')],
    ['whitespace', Buffer.from('  \n')],
    ['not JSON', Buffer.from('client_id=1&events=x')],
    ['truncated JSON', Buffer.from('{"client_id":"1"')],
    ['array', Buffer.from('[{"name":"x"}]')],
    ['number', Buffer.from('42')],
    ['string', Buffer.from('"hello"')],
    ['null', Buffer.from('null')],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ])('throws malformed_body / invalid_json for %s', (_label, bytes) => {
    let thrown: unknown;
    try {
      parseGa4MpBody(bytes);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(TallyError);
    expect((thrown as TallyError).code).toBe('malformed_body');
    expect((thrown as TallyError).details.reason).toBe('invalid_json');
  });
});

describe('request-level problems refuse every event', () => {
  it('requires client_id or app_instance_id', () => {
    const body = { events: [{ name: 'a' }, { name: 'b' }] };
    const r = refusedOnly(body, 'client_id', 'VALUE_REQUIRED');
    expect(r.refused.map((x) => [x.index, x.reason])).toEqual([
      [0, 'invalid'],
      [1, 'invalid'],
    ]);
    expect(r.refused[1].payload).toEqual({ events: [{ name: 'b' }] });
    expect(r.refused[0].detail).toContain('client_id');
  });

  it('treats an empty client_id as missing and a numeric one as invalid', () => {
    refusedOnly({ client_id: '', events: [{ name: 'a' }] }, 'client_id', 'VALUE_REQUIRED');
    const r = refusedOnly({ client_id: 123.456, events: [{ name: 'a' }] }, 'client_id', 'VALUE_INVALID');
    expect(r.validationMessages).toHaveLength(1);
  });

  it.each([
    ['missing', {}, 'VALUE_REQUIRED'],
    ['null', { events: null }, 'VALUE_REQUIRED'],
    ['empty', { events: [] }, 'VALUE_REQUIRED'],
    ['an object', { events: { name: 'x' } }, 'VALUE_INVALID'],
    ['a string', { events: 'page_view' }, 'VALUE_INVALID'],
  ] as const)('refuses the whole body once when events is %s', (_label, extra, code) => {
    const body = { client_id: '1.2', ...extra };
    const r = refusedOnly(body, 'events', code);
    expect(r.refused).toEqual([{ index: -1, reason: 'invalid', detail: expect.stringContaining('events'), payload: body }]);
  });

  it('accepts 25 events and refuses all 26 of a longer request', () => {
    const events = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `e${i}` }));
    expect(accepted({ client_id: '1.2', events: events(25) })).toHaveLength(25);
    const r = refusedOnly({ client_id: '1.2', events: events(26) }, 'events', 'EXCEEDED_MAX_ENTITIES');
    expect(r.refused.map((x) => x.index)).toEqual(Array.from({ length: 26 }, (_, i) => i));
    expect(new Set(r.refused.map((x) => x.reason))).toEqual(new Set(['over_limit']));
  });

  it.each([[[1, 2]], ['text'], [42], [null], [true]])('refuses a non-object body %j as malformed', (body) => {
    const r = parse(body);
    expect(r.events).toEqual([]);
    expect(r.refused).toEqual([{ index: -1, reason: 'malformed_body', detail: expect.any(String), payload: body }]);
    expect(r.validationMessages).toHaveLength(1);
  });

  it.each([
    ['user_id', 42, 'user_id'],
    ['timestamp_micros', '1.7e15', 'timestamp_micros'],
    ['timestamp_micros', '-1', 'timestamp_micros'],
    ['timestamp_micros', -1, 'timestamp_micros'],
    ['user_properties', [{ value: 1 }], 'user_properties'],
    ['user_properties', 'gold', 'user_properties'],
    ['consent', 'GRANTED', 'consent'],
    ['consent', { ad_user_data: true }, 'consent.ad_user_data'],
    ['consent', { ad_user_data: 'MAYBE' }, 'consent.ad_user_data'],
    ['user_location', ['US'], 'user_location'],
    ['user_location', { country_id: 840 }, 'user_location.country_id'],
    ['user_location', { country_id: 'USA' }, 'user_location.country_id'],
    ['ip_override', 1234, 'ip_override'],
    ['ip_override', '999.1.1.1', 'ip_override'],
    ['device', 'mobile', 'device'],
    ['device', { language: 5 }, 'device.language'],
    ['device', { screen_resolution: 'big' }, 'device.screen_resolution'],
    ['user_agent', { ua: 'x' }, 'user_agent'],
    ['validation_behavior', 'STRICT', 'validation_behavior'],
    ['app_instance_id', 7, 'app_instance_id'],
  ])('refuses every event when %s is %j (fieldPath %s)', (field, value, fieldPath) => {
    const body = { ...req({}, {}, {}), [field]: value };
    const r = refusedOnly(body, fieldPath, 'VALUE_INVALID');
    expect(r.refused.map((x) => x.index)).toEqual([0, 1]);
    expect(r.refused.every((x) => x.reason === 'invalid')).toBe(true);
  });

  it('still reports event-level messages alongside request-level ones', () => {
    const r = parse({ events: [{ name: 'ok' }, { name: '_bad' }] });
    expect(r.validationMessages).toEqual([msg('client_id', 'VALUE_REQUIRED'), msg('events[1].name', 'NAME_INVALID')]);
  });
});

describe('event names', () => {
  it('keeps the other events when one is refused', () => {
    const r = parse({ client_id: '1.2', events: [{ name: 'good' }, { params: {} }, { name: 'also_good' }] });
    expect(r.events.map((e) => e.name)).toEqual(['good', 'also_good']);
    expect(r.refused).toEqual([
      {
        index: 1,
        reason: 'invalid',
        detail: expect.stringContaining('events[1].name'),
        payload: { client_id: '1.2', events: [{ params: {} }] },
      },
    ]);
    expect(r.validationMessages).toEqual([msg('events[1].name', 'VALUE_REQUIRED')]);
  });

  it.each([['_badEventName'], ['1st'], ['has-dash'], ['has space'], ['émoji'], ['gtag.config']])('refuses invalid name %s', (name) => {
    const r = refusedOnly({ client_id: '1.2', events: [{ name }] }, 'events[0].name', 'NAME_INVALID');
    expect(r.refused[0].reason).toBe('invalid');
    expect(r.validationMessages[0].description).toContain('Names must start with an alphabetic character');
  });

  it('refuses a non-string or empty name', () => {
    refusedOnly({ client_id: '1.2', events: [{ name: 42 }] }, 'events[0].name', 'VALUE_INVALID');
    refusedOnly({ client_id: '1.2', events: [{ name: '' }] }, 'events[0].name', 'VALUE_REQUIRED');
    refusedOnly({ client_id: '1.2', events: ['page_view'] }, 'events[0]', 'VALUE_INVALID');
  });

  it('accepts a 40-character name and refuses 41', () => {
    expect(one({ client_id: '1.2', events: [{ name: repeat(40) }] }).name).toBe(repeat(40));
    refusedOnly({ client_id: '1.2', events: [{ name: repeat(41) }] }, 'events[0].name', 'NAME_INVALID');
  });

  it.each([...RESERVED_EVENT_NAMES])('refuses reserved event name %s', (name) => {
    const r = refusedOnly({ client_id: '1.2', events: [{ name }] }, 'events[0].name', 'NAME_RESERVED');
    expect(r.refused[0].reason).toBe('name_reserved');
  });

  it.each([...RESERVED_APP_EVENT_NAMES])('reserves %s for app streams only', (name) => {
    expect(one({ client_id: '1.2', events: [{ name }] }).name).toBe(name);
    refusedOnly({ app_instance_id: 'a'.repeat(32), events: [{ name }] }, 'events[0].name', 'NAME_RESERVED');
  });
});

describe('event params', () => {
  it('accepts 25 params; RELAXED keeps the first 25 and records the 26th, ENFORCE refuses', () => {
    expect(Object.keys(one(req({}, paramsOf(25))).params)).toHaveLength(25);

    const relaxed = one(req({}, paramsOf(26)));
    expect(Object.keys(relaxed.params).filter((k) => k !== DROPPED_PARAM)).toHaveLength(25);
    expect(relaxed.params[DROPPED_PARAM]).toEqual({ 'events[0].params.p25': 25 });

    const r = refusedOnly(req(ENFORCE, paramsOf(26)), 'events[0].params', 'EXCEEDED_MAX_ENTITIES');
    expect(r.refused[0].reason).toBe('over_limit');
  });

  it.each([...RESERVED_PARAM_PREFIXES.map((p) => `${p}x`), 'firebase_conversion'])('refuses reserved param name %s', (name) => {
    const r = refusedOnly(req({}, { [name]: 1 }), `events[0].params.${name}`, 'NAME_RESERVED');
    expect(r.refused[0].reason).toBe('name_reserved');
  });

  it.each([['1a'], ['a-b'], ['a b'], ['']])('refuses invalid param name %j', (name) => {
    refusedOnly(req({}, { [name]: 1 }), `events[0].params.${name}`, 'NAME_INVALID');
  });

  it('accepts a 40-character param name and refuses 41', () => {
    expect(one(req({}, { [repeat(40)]: 1 })).params[repeat(40)]).toBe(1);
    refusedOnly(req({}, { [repeat(41)]: 1 }), `events[0].params.${repeat(41)}`, 'NAME_INVALID');
  });

  it('accepts a 100-character value; a 101-character one is dropped and recorded (RELAXED) or refused (ENFORCE)', () => {
    expect(one(req({}, { v: repeat(100) })).params.v).toBe(repeat(100));

    const relaxed = one(req({}, { v: repeat(101), w: 'kept' }));
    expect(relaxed.params.v).toBeUndefined();
    expect(relaxed.params.w).toBe('kept');
    expect(relaxed.params[DROPPED_PARAM]).toEqual({ 'events[0].params.v': repeat(101) });

    const r = refusedOnly(req(ENFORCE, { v: repeat(101) }), 'events[0].params.v', 'VALUE_OUT_OF_BOUNDS');
    expect(r.refused[0].reason).toBe('over_limit');
  });

  it('counts characters, not UTF-16 units', () => {
    expect(one(req({}, { v: repeat(100, '😀') })).params.v).toBe(repeat(100, '😀'));
    refusedOnly(req(ENFORCE, { v: repeat(101, '😀') }), 'events[0].params.v', 'VALUE_OUT_OF_BOUNDS');
  });

  it('exempts session_id and session_number from the length limit', () => {
    const e = one(req({}, { session_id: repeat(500, '1'), session_number: repeat(500, '2') }));
    expect(e.session_id).toBe(repeat(500, '1'));
    expect(e.params.session_number).toBe(repeat(500, '2'));
  });

  it.each([
    ['page_location', 1000, 'url'],
    ['page_referrer', 420, 'referrer'],
    ['page_title', 300, 'title'],
  ] as const)('allows %s up to %i characters', (name, max, column) => {
    expect(one(req({}, { [name]: repeat(max) }))[column]).toBe(repeat(max));
    const over = one(req({}, { [name]: repeat(max + 1) }));
    expect(over[column]).toBeNull();
    expect(over.params[DROPPED_PARAM]).toEqual({ [`events[0].params.${name}`]: repeat(max + 1) });
    refusedOnly(req(ENFORCE, { [name]: repeat(max + 1) }), `events[0].params.${name}`, 'VALUE_OUT_OF_BOUNDS');
  });

  it.each([
    ['an object', { a: 1 }],
    ['an array', [1, 2]],
  ])('refuses a param whose value is %s, in both modes', (_label, value) => {
    for (const extra of [{}, ENFORCE]) {
      const r = refusedOnly(req(extra, { bad: value }), 'events[0].params.bad', 'VALUE_INVALID');
      expect(r.refused[0].reason).toBe('invalid');
    }
  });

  it('refuses params that are not an object', () => {
    refusedOnly({ client_id: '1.2', events: [{ name: 'x', params: [1] }] }, 'events[0].params', 'VALUE_INVALID');
  });

  it('keeps typed values: numbers stay numbers, booleans stay booleans', () => {
    const e = one(req({}, { value: 9.99, quantity: 3, debug_mode: true, note: null, engagement_time_msec: 100 }));
    expect(e.params).toEqual({ value: 9.99, quantity: 3, debug_mode: true, note: null, engagement_time_msec: 100 });
  });
});

describe('items', () => {
  const item = (custom: number) => ({
    item_id: 'SKU_1',
    item_name: 'Shirt',
    price: 10,
    quantity: 2,
    ...Object.fromEntries(Array.from({ length: custom }, (_, i) => [`c${i}`, `v${i}`])),
  });

  it('keeps an items array of objects', () => {
    const items = [item(0), item(10)];
    expect(one(req({}, { currency: 'EUR', items })).params.items).toEqual(items);
  });

  it('allows 10 custom item params; the 11th is dropped and recorded (RELAXED) or refused (ENFORCE)', () => {
    const e = one(req({}, { items: [item(11)] }));
    expect(e.params.items).toEqual([item(10)]);
    expect(e.params[DROPPED_PARAM]).toEqual({ 'events[0].params.items[0].c10': 'v10' });
    refusedOnly(req(ENFORCE, { items: [item(11)] }), 'events[0].params.items[0].c10', 'EXCEEDED_MAX_ENTITIES');
  });

  it.each([
    ['not an array', { item_id: 'x' }, 'events[0].params.items'],
    ['an array of strings', ['SKU'], 'events[0].params.items[0]'],
    ['an item with a nested value', [{ item_id: { id: 1 } }], 'events[0].params.items[0].item_id'],
  ])('refuses items that are %s', (_label, items, fieldPath) => {
    refusedOnly(req({}, { items }), fieldPath, 'VALUE_INVALID');
  });

  it('applies name rules to item params', () => {
    refusedOnly(req({}, { items: [{ _secret: 1 }] }), 'events[0].params.items[0]._secret', 'NAME_RESERVED');
    refusedOnly(req({}, { items: [{ 'bad-name': 1 }] }), 'events[0].params.items[0].bad-name', 'NAME_INVALID');
  });
});

describe('user properties', () => {
  const props = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`up${i}`, { value: `v${i}` }]));

  it('flattens name -> value and keeps their own timestamps in params', () => {
    const e = one(req({ user_properties: { plan: { value: 'gold' }, visits: { value: 3, timestamp_micros: 1_700_000_000_000_000 } } }));
    expect(e.user_props).toEqual({ plan: 'gold', visits: 3 });
    expect(e.params[USER_PROPERTY_TIMESTAMPS_PARAM]).toEqual({ visits: 1_700_000_000_000_000 });
  });

  it('allows 25; the 26th is dropped and recorded (RELAXED) or refuses the request (ENFORCE)', () => {
    expect(Object.keys(one(req({ user_properties: props(25) })).user_props)).toHaveLength(25);
    const e = one(req({ user_properties: props(26) }));
    expect(Object.keys(e.user_props)).toHaveLength(25);
    expect(e.params[DROPPED_PARAM]).toEqual({ 'user_properties.up25': { value: 'v25' } });
    refusedOnly(req({ ...ENFORCE, user_properties: props(26) }), 'user_properties', 'EXCEEDED_MAX_ENTITIES');
  });

  it('allows a 24-character name and refuses 25', () => {
    expect(one(req({ user_properties: { [repeat(24)]: { value: 1 } } })).user_props).toEqual({ [repeat(24)]: 1 });
    refusedOnly(req({ user_properties: { [repeat(25)]: { value: 1 } } }), `user_properties.${repeat(25)}`, 'NAME_INVALID');
  });

  it('allows a 36-character value; 37 is dropped and recorded (RELAXED) or refused (ENFORCE)', () => {
    expect(one(req({ user_properties: { p: { value: repeat(36) } } })).user_props).toEqual({ p: repeat(36) });
    const e = one(req({ user_properties: { p: { value: repeat(37) } } }));
    expect(e.user_props).toEqual({});
    expect(e.params[DROPPED_PARAM]).toEqual({ 'user_properties.p.value': repeat(37) });
    refusedOnly(req({ ...ENFORCE, user_properties: { p: { value: repeat(37) } } }), 'user_properties.p.value', 'VALUE_OUT_OF_BOUNDS');
  });

  it.each([...RESERVED_USER_PROPERTY_NAMES, ...RESERVED_USER_PROPERTY_PREFIXES.map((p) => `${p}x`)])('refuses reserved user property %s', (name) => {
    const r = refusedOnly(req({ user_properties: { [name]: { value: 1 } } }), `user_properties.${name}`, 'NAME_RESERVED');
    expect(r.refused[0].reason).toBe('name_reserved');
  });

  it('refuses entries that are not {value}', () => {
    refusedOnly(req({ user_properties: { plan: 'gold' } }), 'user_properties.plan', 'VALUE_INVALID');
    refusedOnly(req({ user_properties: { plan: {} } }), 'user_properties.plan.value', 'VALUE_REQUIRED');
    refusedOnly(req({ user_properties: { plan: { value: { tier: 1 } } } }), 'user_properties.plan.value', 'VALUE_INVALID');
  });
});

describe('user_id', () => {
  it('allows 256 characters; 257 is dropped and recorded (RELAXED) or refuses the request (ENFORCE)', () => {
    expect(one(req({ user_id: repeat(256) })).user_id).toBe(repeat(256));
    const e = one(req({ user_id: repeat(257) }));
    expect(e.user_id).toBeNull();
    expect(e.params[DROPPED_PARAM]).toEqual({ user_id: repeat(257) });
    refusedOnly(req({ ...ENFORCE, user_id: repeat(257) }), 'user_id', 'VALUE_OUT_OF_BOUNDS');
  });
});

describe('timestamps', () => {
  const micros = (ms: number) => ms * 1000;

  it('prefers the event timestamp, then the request timestamp, then null', () => {
    const body = {
      client_id: '1.2',
      timestamp_micros: micros(NOW - 2 * HOUR),
      events: [{ name: 'own', timestamp_micros: micros(NOW - HOUR) + 999 }, { name: 'inherits' }],
    };
    expect(accepted(body).map((e) => e.client_ts)).toEqual([NOW - HOUR, NOW - 2 * HOUR]);
    expect(one(req()).client_ts).toBeNull();
  });

  it('accepts exactly 72 h old; older is clamped and recorded (RELAXED) or refused (ENFORCE)', () => {
    const limit = NOW - 72 * HOUR;
    expect(one({ client_id: '1.2', events: [{ name: 'x', timestamp_micros: micros(limit) }] }).client_ts).toBe(limit);

    const old = micros(limit - 1);
    const e = one({ client_id: '1.2', events: [{ name: 'x', timestamp_micros: old }] });
    expect(e.client_ts).toBe(limit);
    expect(e.params[DROPPED_PARAM]).toEqual({ 'events[0].timestamp_micros': old });

    refusedOnly({ ...ENFORCE, client_id: '1.2', events: [{ name: 'x', timestamp_micros: old }] }, 'events[0].timestamp_micros', 'VALUE_OUT_OF_BOUNDS');
    const r = refusedOnly(
      { ...ENFORCE, client_id: '1.2', timestamp_micros: old, events: [{ name: 'a' }, { name: 'b' }] },
      'timestamp_micros',
      'VALUE_OUT_OF_BOUNDS',
    );
    expect(r.validationMessages).toHaveLength(1);
    expect(r.refused).toHaveLength(2);
  });

  it('clamps future timestamps to receipt time in both modes, keeping the original', () => {
    for (const extra of [{}, ENFORCE]) {
      const future = micros(NOW + 1);
      const e = one({ ...extra, client_id: '1.2', timestamp_micros: future, events: [{ name: 'x' }] });
      expect(e.client_ts).toBe(NOW);
      expect(e.params[DROPPED_PARAM]).toEqual({ timestamp_micros: future });
    }
    expect(one({ client_id: '1.2', events: [{ name: 'x', timestamp_micros: micros(NOW) }] }).client_ts).toBe(NOW);
  });

  it('refuses an event timestamp that is not a number', () => {
    refusedOnly({ client_id: '1.2', events: [{ name: 'x', timestamp_micros: 'yesterday' }] }, 'events[0].timestamp_micros', 'VALUE_INVALID');
    refusedOnly({ client_id: '1.2', events: [{ name: 'x', timestamp_micros: ' 1700000000000000' }] }, 'events[0].timestamp_micros', 'VALUE_INVALID');
  });

  it('takes int64 fields as decimal strings too, as proto3 JSON writes them (top level, per event, user properties)', () => {
    const body = {
      client_id: '1.2',
      timestamp_micros: String(micros(NOW - 2 * HOUR)),
      user_properties: { plan: { value: 'gold', timestamp_micros: String(micros(NOW - 3 * HOUR)) } },
      events: [{ name: 'own', timestamp_micros: String(micros(NOW - HOUR)) }, { name: 'inherits' }],
    };
    const r = parse(body);
    expect(r.refused).toEqual([]);
    expect(r.validationMessages).toEqual([]);
    expect(r.events.map((e) => e.client_ts)).toEqual([NOW - HOUR, NOW - 2 * HOUR]);
    expect(r.events[0].params[USER_PROPERTY_TIMESTAMPS_PARAM]).toEqual({ plan: micros(NOW - 3 * HOUR) });
  });

  it('notices what /mp/collect re-dates (for /debug/mp/collect), without refusing it', () => {
    const old = micros(NOW - 73 * HOUR);
    const relaxed = parse({
      client_id: '1.2',
      events: [{ name: 'x', timestamp_micros: old }, { name: 'y', timestamp_micros: micros(NOW + HOUR) }, { name: 'z' }],
    });
    expect(relaxed.events).toHaveLength(3);
    expect(relaxed.validationMessages).toEqual([]);
    expect(relaxed.notices.map((n) => [n.fieldPath, n.validationCode])).toEqual([
      ['events[0].timestamp_micros', 'VALUE_OUT_OF_BOUNDS'],
      ['events[1].timestamp_micros', 'VALUE_OUT_OF_BOUNDS'],
    ]);
    expect(relaxed.notices[0].description).toMatch(/re-dates the event to 72 hours before/);
    expect(relaxed.notices[1].description).toMatch(/re-dates the event to the time it is received/);
    // refused in ENFORCE: a validation message, and no notice for an event that is not kept
    const enforced = parse({ ...ENFORCE, client_id: '1.2', events: [{ name: 'x', timestamp_micros: old }] });
    expect(enforced.notices).toEqual([]);
    expect(enforced.validationMessages.map((m) => m.fieldPath)).toEqual(['events[0].timestamp_micros']);
  });
});

describe('mapping to ParsedEvent', () => {
  it('maps every field of a full request', () => {
    const body = {
      client_id: '1234567890.1700000000',
      user_id: 'user-42',
      timestamp_micros: (NOW - HOUR) * 1000,
      user_properties: { plan: { value: 'gold' } },
      consent: { ad_user_data: 'granted', ad_personalization: 'DENIED' },
      user_location: { city: 'Mountain View', region_id: 'US-CA', country_id: 'us', subcontinent_id: '021', continent_id: '019' },
      ip_override: '203.0.113.7',
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
      user_data: { sha256_email_address: ['abc'] },
      non_personalized_ads: false,
      custom_top: 'kept',
      events: [
        {
          name: 'page_view',
          extra_field: { nested: [1, 'two'] },
          params: {
            session_id: 1700000000,
            page_location: 'https://example.com/a?utm_source=x',
            page_referrer: 'https://google.com/',
            page_title: 'A page',
            engagement_time_msec: 100,
            source: 'newsletter',
          },
        },
      ],
    };
    expect(one(body)).toEqual({
      event_id: null,
      protocol: 'ga4mp',
      client_ts: NOW - HOUR,
      name: 'page_view',
      client_id: '1234567890.1700000000',
      user_id: 'user-42',
      session_id: '1700000000',
      url: 'https://example.com/a?utm_source=x',
      referrer: 'https://google.com/',
      title: 'A page',
      ua: 'Mozilla/5.0 (X11; Linux x86_64)',
      ip: '203.0.113.7',
      geo: { country: 'US', region: 'US-CA', city: 'Mountain View' },
      language: null,
      screen: null,
      consent: { ad_user_data: 'GRANTED', ad_personalization: 'DENIED' },
      params: {
        engagement_time_msec: 100,
        source: 'newsletter',
        extra_field: { nested: [1, 'two'] },
        user_location: body.user_location,
        user_data: { present: true },
        non_personalized_ads: false,
        custom_top: 'kept',
      },
      user_props: { plan: 'gold' },
    });
  });

  it('takes language and screen from device, ignores user_agent then, and keeps both in params', () => {
    const device = {
      category: 'mobile',
      language: 'en-us',
      screen_resolution: '1280x2856',
      operating_system: 'Android',
      operating_system_version: '14',
      model: 'Pixel 9 Pro',
      brand: 'Google',
      browser: 'Chrome',
      browser_version: '136.0.7103.60',
    };
    const e = one(req({ device, user_agent: 'Mozilla/5.0' }));
    expect(e.ua).toBeNull();
    expect(e.language).toBe('en-us');
    expect(e.screen).toBe('1280x2856');
    expect(e.params.device).toEqual(device);
    expect(e.params.user_agent).toBe('Mozilla/5.0');
  });

  it('uses app_instance_id as the client id, and keeps it in params when client_id is also sent', () => {
    const app = 'f'.repeat(32);
    expect(one({ app_instance_id: app, events: [{ name: 'x' }] }).client_id).toBe(app);
    const both = one({ client_id: '1.2', app_instance_id: app, events: [{ name: 'x' }] });
    expect(both.client_id).toBe('1.2');
    expect(both.params.app_instance_id).toBe(app);
  });

  it('takes session_id as a string whether sent as a string or a number', () => {
    expect(one(req({}, { session_id: '1700000000' })).session_id).toBe('1700000000');
    expect(one(req({}, { session_id: 1700000001 })).session_id).toBe('1700000001');
    const odd = one(req({}, { session_id: true }));
    expect(odd.session_id).toBeNull();
    expect(odd.params.session_id).toBe(true);
  });

  it('keeps a non-string page_location as a param instead of a URL', () => {
    const e = one(req({}, { page_location: 42 }));
    expect(e.url).toBeNull();
    expect(e.params.page_location).toBe(42);
  });

  it('on a name clash the event param wins and the other value is recorded, nothing lost', () => {
    const e = one({ client_id: '1.2', device: { category: 'desktop' }, events: [{ name: 'x', device: 'evt', params: { device: 'param' } }] });
    expect(e.params.device).toBe('param');
    expect(e.params[DROPPED_PARAM]).toEqual({ 'events[0].device': 'evt', device: { category: 'desktop' } });
  });

  it('keeps params and fields named like Object.prototype members, under the same length limit as any other', () => {
    const body = JSON.parse(
      '{"client_id":"1.2","toString":"top","events":[{"name":"sign_up","__proto__":"e","hasOwnProperty":"h",' +
        `"params":{"constructor":"c","toString":"t","valueOf":"${repeat(101)}"}}]}`,
    );
    const e = one(body);
    expect(Object.getOwnPropertyDescriptor(e.params, '__proto__')?.value).toBe('e');
    expect(e.params).toMatchObject({ constructor: 'c', toString: 't', hasOwnProperty: 'h' });
    expect(e.params[DROPPED_PARAM]).toEqual({ 'events[0].params.valueOf': repeat(101), toString: 'top' });
    expect(JSON.stringify(e.params)).toContain('"__proto__":"e"');
    refusedOnly(req(ENFORCE, JSON.parse(`{"constructor":"${repeat(101)}"}`)), 'events[0].params.constructor', 'VALUE_OUT_OF_BOUNDS');
  });

  it('keeps a __proto__ key as data', () => {
    const body = JSON.parse('{"client_id":"1.2","__proto__":{"polluted":1},"events":[{"name":"x","__proto__":"e"}]}');
    const e = one(body);
    expect(Object.getPrototypeOf(e.params)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(e.params, '__proto__')?.value).toBe('e');
    expect(e.params[DROPPED_PARAM]).toEqual(JSON.parse('{"__proto__":{"polluted":1}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts IPv6 overrides and empty consent', () => {
    const e = one(req({ ip_override: '2001:db8::1', consent: {} }));
    expect(e.ip).toBe('2001:db8::1');
    expect(e.consent).toEqual({});
  });

  it('does not share mutable objects between events of one request', () => {
    const [a, b] = accepted(req({ device: { category: 'x' }, consent: { ad_user_data: 'GRANTED' } }, {}, {}));
    expect(a.params.device).not.toBe(b.params.device);
    expect(a.consent).not.toBe(b.consent);
    expect(a.params.device).toEqual(b.params.device);
  });
});

describe('hostile input', () => {
  const nested = (depth: number): unknown => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = { a: v };
    return v;
  };

  it('refuses deeply nested unknown fields without throwing', () => {
    refusedOnly({ ...req(), deep: nested(50_000) }, 'deep', 'VALUE_INVALID');
    refusedOnly({ client_id: '1.2', events: [{ name: 'x', deep: nested(50_000) }] }, 'events[0].deep', 'VALUE_INVALID');
    refusedOnly(req({ device: { extra: nested(100) } }), 'device', 'VALUE_INVALID');
    expect(one({ ...req(), shallow: nested(GA4_MP_LIMITS.maxNestingDepth - 1) }).params.shallow).toBeDefined();
  });

  it('reads a 60 000-deep JSON body and refuses it without a stack overflow', () => {
    const n = 60_000;
    const text = '{"client_id":"1.2","events":[{"name":"x"}],"d":' + '{"a":'.repeat(n) + '1' + '}'.repeat(n) + '}';
    const body = parseGa4MpBody(Buffer.from(text));
    refusedOnly(body, 'd', 'VALUE_INVALID');
  });

  it('handles huge strings everywhere', () => {
    const huge = repeat(2_000_000, 'x');
    const r = parse({ client_id: huge, user_id: huge, events: [{ name: huge, params: { [huge]: huge, v: huge } }], [huge]: huge });
    expect(r.events).toEqual([]);
    expect(r.refused).toHaveLength(1);
    expect(r.validationMessages.every((m) => m.description.length < 400)).toBe(true);
  });

  it('caps the number of validation messages', () => {
    const params = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`_p${i}`, i]));
    const r = parse(req({}, params));
    expect(r.validationMessages).toHaveLength(GA4_MP_LIMITS.maxValidationMessages);
  });

  it('never throws on input that is not JSON at all', () => {
    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('boom');
        },
      },
    );
    const r = parse(proxy);
    expect(r.events).toEqual([]);
    expect(r.refused).toHaveLength(1);
    for (const body of [
      { client_id: '1.2', events: [{ name: 'x', params: { f: () => 1 } }] },
      { client_id: 1n, events: [] },
    ]) {
      expect(() => parse(body)).not.toThrow();
    }
  });

  const WRONG_VALUES: unknown[] = [null, true, 0, -1, 1e308, '', 'x', [], [1, 'a'], {}, { value: 1 }, [[[]]], repeat(300)];
  // every request-level field the parser knows, and one it does not
  const FIELDS = [...KNOWN_TOP_LEVEL, 'non_personalized_ads'];

  it('survives every wrong type at every top-level and event-level field', () => {
    for (const value of WRONG_VALUES) {
      for (const field of FIELDS) checkInvariants({ ...req({}, { a: 1 }, { b: 2 }), [field]: value });
      for (const field of ['name', 'params', 'timestamp_micros', 'other']) {
        checkInvariants({ client_id: '1.2', events: [{ name: 'x', [field]: value }, { name: 'y' }] });
      }
      checkInvariants(req({}, { p: value, items: value }));
      checkInvariants(req({ user_properties: { u: value, v: { value } } }));
      checkInvariants(req({}, { items: [value, { item_id: value }] }));
    }
  });
});

describe('property: random JSON', () => {
  // Small seeded PRNG (mulberry32) so failures reproduce.
  function rng(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const KEYS = [
    'client_id',
    'app_instance_id',
    'user_id',
    'timestamp_micros',
    'user_properties',
    'consent',
    'user_location',
    'device',
    'ip_override',
    'user_agent',
    'events',
    'name',
    'params',
    'value',
    'items',
    'session_id',
    'page_location',
    'validation_behavior',
    'country_id',
    'screen_resolution',
    'ad_user_data',
    '_x',
    'firebase_conversion',
    'a',
    'b_1',
    '__proto__',
    'x-y',
  ];

  function randomJson(r: () => number, depth: number): unknown {
    const k = r();
    if (depth > 5 || k < 0.35) {
      const s = r();
      if (s < 0.2) return null;
      if (s < 0.35) return r() < 0.5;
      if (s < 0.55) return Math.floor((r() - 0.3) * 10 ** Math.floor(r() * 18));
      if (s < 0.65) return 'ENFORCE_RECOMMENDATIONS';
      return 'ab_c1😀-.'.slice(0, Math.floor(r() * 9)).repeat(1 + Math.floor(r() * 30));
    }
    const n = Math.floor(r() * (k < 0.5 ? 30 : 6) * (depth > 1 ? 0.3 : 1));
    if (k < 0.65) return Array.from({ length: n }, () => randomJson(r, depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++)
      Object.defineProperty(o, KEYS[Math.floor(r() * KEYS.length)] + (r() < 0.2 ? String(i) : ''), {
        value: randomJson(r, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return o;
  }

  it('parseGa4Mp never throws and keeps its invariants over 3000 random bodies', () => {
    const r = rng(20250115);
    let acceptedCount = 0;
    let refusedCount = 0;
    for (let i = 0; i < 3000; i++) {
      const v = randomJson(r, 0);
      const body = i % 2 === 0 && v && typeof v === 'object' && !Array.isArray(v) ? { client_id: '1.2', events: [v, { name: 'ok' }], ...v } : v;
      const out = checkInvariants(body);
      acceptedCount += out.events.length;
      refusedCount += out.refused.length;
    }
    // The generator must reach both outcomes, or the invariants prove little.
    expect(acceptedCount).toBeGreaterThan(100);
    expect(refusedCount).toBeGreaterThan(100);
  });

  it('parseGa4MpBody throws only malformed_body over random texts', () => {
    const r = rng(7);
    const pieces = ['{', '}', '[', ']', '"a"', ':', ',', '1', 'null', 'true', '"\\u00', ' ', '\uFEFF', '😀'];
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: Math.floor(r() * 12) }, () => pieces[Math.floor(r() * pieces.length)]).join('');
      const bytes = i % 5 === 0 ? Buffer.from(Array.from({ length: 8 }, () => Math.floor(r() * 256))) : Buffer.from(text);
      try {
        const v = parseGa4MpBody(bytes);
        expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
        checkInvariants(v);
      } catch (e) {
        expect(e).toBeInstanceOf(TallyError);
        expect((e as TallyError).code).toBe('malformed_body');
      }
    }
  });
});

/** What must hold for any input: no throw, every event accounted for once, JSON-safe output. */
function checkInvariants(body: unknown): Ga4MpParseResult {
  let r!: Ga4MpParseResult;
  expect(() => (r = parse(body))).not.toThrow();
  const events = body && typeof body === 'object' ? (body as Body).events : undefined;
  const indexes = r.refused.map((x) => x.index);
  if (Array.isArray(events) && events.length > 0) {
    expect(new Set(indexes).size).toBe(indexes.length);
    expect(r.events.length + indexes.length).toBe(events.length);
    expect(indexes.every((i) => i >= 0 && i < events.length)).toBe(true);
  } else {
    expect(r.events).toEqual([]);
    expect(indexes).toEqual([-1]);
  }
  if (r.refused.length > 0) expect(r.validationMessages.length).toBeGreaterThan(0);
  for (const x of r.refused) expect(x.detail).not.toContain('internal parser error');
  expect(r.validationMessages.length).toBeLessThanOrEqual(GA4_MP_LIMITS.maxValidationMessages);
  for (const e of r.events) {
    expect(NAME_PATTERN.test(e.name)).toBe(true);
    expect(e.client_id).toEqual(expect.any(String));
    expect(JSON.parse(JSON.stringify(e.params)) as ParamValue).toEqual(e.params);
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  }
  return r;
}
