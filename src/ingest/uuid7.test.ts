import { describe, expect, it } from 'vitest';
import { validate, version } from 'uuid';
import { uuidv7 } from './uuid7.js';

describe('uuidv7', () => {
  it('makes valid version-7 ids carrying the time', () => {
    const t = Date.UTC(2026, 10, 26, 12, 0, 0, 123);
    const id = uuidv7(t);
    expect(validate(id)).toBe(true);
    expect(version(id)).toBe(7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(t);
    expect('89ab').toContain(id[19]);
  });

  it('is unique and sorts in creation order, also within one millisecond', () => {
    const t = Date.now();
    const ids = Array.from({ length: 20_000 }, () => uuidv7(t));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
