import { describe, expect, it } from 'vitest';
import { TallyError } from '../../infra/errors.js';
import { DROPPED_PARAM } from '../parsed-event.js';
import { USER_PROPERTY_TIMESTAMPS_PARAM } from './ga4-mp.event.js';
import { parseGa4MpBody } from './ga4-mp.parser.js';
import { RESERVED_APP_EVENT_NAMES, RESERVED_EVENT_NAMES, RESERVED_PARAM_PREFIXES } from './ga4-mp.limits.js';
import { RESERVED_USER_PROPERTY_NAMES, RESERVED_USER_PROPERTY_PREFIXES } from './ga4-mp.limits.js';
import { ENFORCE, parse, req, accepted, one, msg, refusedOnly, repeat, paramsOf } from './ga4-mp.parser.testkit.js';

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
