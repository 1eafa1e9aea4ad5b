import { describe, expect, it } from 'vitest';
import { jsonBytesOver } from './json-size.js';

const stringifiedBytes = (v: unknown): number | null => {
  try {
    const s = JSON.stringify(v) as string | undefined;
    return s === undefined ? null : Buffer.byteLength(s);
  } catch {
    return null;
  }
};

/** The answer of the old check, `Buffer.byteLength(JSON.stringify(v)) > max` (null where it threw). */
const expected = (v: unknown, max: number): boolean | null => {
  const n = stringifiedBytes(v);
  return n === null ? null : n > max;
};

/** Limits around the exact size, so that both the bound and the exact path are taken. */
function expectSameAtEveryLimit(v: unknown): void {
  const n = stringifiedBytes(v) ?? 10;
  for (const max of [0, n - 1, n, n + 1, 6 * n + 200, 1 << 30]) expect(jsonBytesOver(v, max)).toBe(expected(v, max));
}

const STRINGS = [
  '',
  'plain',
  'a"b\\c',
  'tab\tnl\ncr\rbs\bff\f',
  '\u0000\u0001\u001f\u007f',
  'é',
  '€',
  '😀',
  '\ud800',
  'x\udc00y',
  '\ud83d',
  '\u2028\u2029',
  'x'.repeat(40_000),
];

function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (r < 0.3) {
    let s = '';
    for (let i = Math.floor(rnd() * 12); i > 0; i--) s += String.fromCharCode(Math.floor(rnd() * (rnd() < 0.5 ? 128 : 0x10000)));
    return s;
  }
  if (r < 0.45) return [0, -0, 1.5, -7, 1e21, -1.7976931348623157e308, -0.0000012345678901234567, 2 ** 53 + 2, Infinity, NaN][Math.floor(rnd() * 10)];
  if (r < 0.55) return [true, false, null, undefined][Math.floor(rnd() * 4)];
  if (depth > 5) return 'leaf';
  if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 4); i > 0; i--) o[String(randomValue(rnd, 99))] = randomValue(rnd, depth + 1);
  return o;
}

describe('jsonBytesOver', () => {
  it('agrees with Buffer.byteLength(JSON.stringify(v)) > max for escapes, UTF-8 and lone surrogates', () => {
    for (const s of STRINGS) {
      expectSameAtEveryLimit(s);
      expectSameAtEveryLimit({ [s]: s, k: [s] });
    }
  });

  it('agrees for random JSON-like values, with undefined members, holes, functions and non-finite numbers', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 3000; i++) expectSameAtEveryLimit(randomValue(rnd, 0));
    const holes = [1, 2, 3];
    delete holes[1];
    expectSameAtEveryLimit(holes);
    expectSameAtEveryLimit([() => 1, Symbol('s')]);
    expectSameAtEveryLimit({ f: () => 1, s: Symbol('s'), u: undefined, x: 1 });
  });

  it('never answers "within" for a value over the limit, however its strings are escaped', () => {
    // every character written as \u00XX: 6 bytes per UTF-16 unit, the worst case of the bound
    const control = '\u0001'.repeat(1000);
    expect(jsonBytesOver(control, 6001)).toBe(true);
    expect(jsonBytesOver(control, 6002)).toBe(false);
    expect(jsonBytesOver({ m: '😀'.repeat(8192) }, 32 * 1024)).toBe(true);
  });

  it('keeps an own "__proto__" key of parsed JSON as data', () => {
    expectSameAtEveryLimit(JSON.parse('{"__proto__":{"a":"b"},"x":[1,2]}'));
  });

  it('measures what JSON.stringify would make of Dates, toJSON, boxed values and class instances', () => {
    class Point {
      constructor(public x: number) {}
    }
    const values = [
      new Date(0),
      { toJSON: () => 'x'.repeat(100) },
      { a: new Date(0) },
      new String('s'),
      new Number(3),
      new Point(1),
      new Map([[1, 2]]),
      Object.create(null),
    ];
    for (const v of values) expectSameAtEveryLimit(v);
  });

  it('is null where JSON.stringify throws or yields nothing: cycles, bigint, a bare function or undefined', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(jsonBytesOver(cyclic, 1 << 30)).toBeNull();
    expect(jsonBytesOver({ n: 1n }, 1 << 30)).toBeNull();
    expect(jsonBytesOver(undefined, 1 << 30)).toBeNull();
    expect(jsonBytesOver(() => 1, 1 << 30)).toBeNull();
  });

  it('hands nesting deeper than its walk to JSON.stringify', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 200; i++) deep = i % 2 ? { k: deep } : [deep];
    expectSameAtEveryLimit(deep);
  });
});
