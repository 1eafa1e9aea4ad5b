import { describe, expect, it } from 'vitest';
import { parseNative } from './native.parser.js';

const NOW = Date.UTC(2026, 0, 15, 12);
/** The value of an own property; `obj.__proto__` would read the prototype instead. */
const own = (obj: object, key: string): unknown => Object.getOwnPropertyDescriptor(obj, key)?.value;

describe('native /v1/collect parser', () => {
  it('keeps params, user props, consent and extra fields named like Object.prototype members', () => {
    // JSON.parse, as the collector reads the body: "__proto__" becomes an own key, not the prototype
    const body = JSON.parse(`{"events":[{
      "name": "sign_up", "client_id": "c1", "url": "https://acme.test/", "event_id": "e-1",
      "params": { "constructor": "c", "toString": "t", "plan": "pro", "__proto__": "p" },
      "user_props": { "hasOwnProperty": "h", "__proto__": "u" },
      "consent": { "valueOf": "granted", "__proto__": "denied" },
      "isPrototypeOf": "extra", "toLocaleString": "x"
    }]}`);
    const { events, refused } = parseNative(body, { receivedAt: NOW });
    expect(refused).toEqual([]);
    const [e] = events;
    expect(e.params).toMatchObject({ constructor: 'c', toString: 't', plan: 'pro', isPrototypeOf: 'extra', toLocaleString: 'x' });
    expect(own(e.params, '__proto__')).toBe('p');
    expect(JSON.stringify(e.params)).toContain('"__proto__":"p"');
    expect(Object.entries(e.user_props)).toEqual([
      ['hasOwnProperty', 'h'],
      ['__proto__', 'u'],
    ]);
    expect(Object.entries(e.consent!)).toEqual([
      ['valueOf', 'granted'],
      ['__proto__', 'denied'],
    ]);
  });

  it('keeps an extra field whose name a param already has in params._tally_dropped', () => {
    const body = JSON.parse('{"events":[{"name":"x","client_id":"c1","params":{"plan":"pro","_tally_dropped":{"a":1}},"plan":"team","__proto__":"p"}]}');
    const [e] = parseNative(body, { receivedAt: NOW }).events;
    expect(e.params.plan).toBe('pro');
    expect(e.params._tally_dropped).toEqual({ plan: 'team', _tally_dropped: { a: 1 } });
    expect(own(e.params, '__proto__')).toBe('p');
  });

  it('keeps an event field named "__proto__" in params', () => {
    const body = JSON.parse('{"events":[{"name":"page_view","client_id":"c1","__proto__":{"url":"https://evil.test/"},"toString":"t"}]}');
    const [e] = parseNative(body, { receivedAt: NOW }).events;
    expect(e.url).toBeNull();
    expect(own(e.params, '__proto__')).toEqual({ url: 'https://evil.test/' });
    expect(e.params.toString).toBe('t');
    expect(JSON.stringify(e.params)).toBe('{"__proto__":{"url":"https://evil.test/"},"toString":"t"}');
  });
});
