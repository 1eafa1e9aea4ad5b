import { describe, expect, it } from 'vitest';
import { assignOwn, setOwn, setOwnIfAbsent } from './own-property.js';

/** The value of an own property; `obj.__proto__` would read the prototype instead. */
const own = (obj: object, key: string): unknown => Object.getOwnPropertyDescriptor(obj, key)?.value;

describe('own-property helpers', () => {
  it('setOwn keeps "__proto__" as data that JSON.stringify writes out, and leaves the prototype alone', () => {
    const obj: Record<string, unknown> = {};
    setOwn(obj, '__proto__', { polluted: true });
    setOwn(obj, 'constructor', 'c');
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(own(obj, '__proto__')).toEqual({ polluted: true });
    expect(obj.polluted).toBeUndefined();
    expect(JSON.stringify(obj)).toBe('{"__proto__":{"polluted":true},"constructor":"c"}');
  });

  it('setOwnIfAbsent writes names that only exist on Object.prototype, and never overwrites an own one', () => {
    const obj: Record<string, unknown> = { kept: 1 };
    for (const k of ['toString', 'constructor', 'hasOwnProperty', '__proto__', 'kept']) setOwnIfAbsent(obj, k, k);
    expect(Object.keys(obj)).toEqual(['kept', 'toString', 'constructor', 'hasOwnProperty', '__proto__']);
    expect(obj.kept).toBe(1);
    expect(own(obj, '__proto__')).toBe('__proto__');
  });

  it('assignOwn copies an own "__proto__" of a JSON.parse result, where Object.assign sets the prototype', () => {
    const source = JSON.parse('{"a":1,"__proto__":"p","toString":"t"}') as Record<string, unknown>;
    expect(Object.keys(Object.assign({}, source))).toEqual(['a', 'toString']);
    const target = assignOwn<unknown>({ z: 0 }, source);
    expect(Object.keys(target)).toEqual(['z', 'a', '__proto__', 'toString']);
    expect(JSON.stringify(target)).toBe('{"z":0,"a":1,"__proto__":"p","toString":"t"}');
  });
});
