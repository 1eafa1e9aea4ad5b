import { describe, expect, it } from 'vitest';
import { formEntries } from './urlencoded.js';

describe('formEntries', () => {
  it('gives what URLSearchParams gives, on the cases its fast path and fallbacks handle', () => {
    const cases = [
      'a=1&b=2',
      '?a=1&b=',
      '?',
      '',
      'a',
      '&&a=1&&',
      '==',
      'a==b',
      'x=%2B%2b+y',
      'q=caf%C3%A9',
      'broken=%C3',
      'bad=%ZZ&ok=1',
      'stray=%',
      'lone=\ud800',
      'crlf=a%0D%0Ab',
      'data=eyJ0b2tlbiI6InBoYy0xIn0%3D',
      'k%26=v%3D',
    ];
    for (const text of cases) expect(formEntries(text), text).toEqual([...new URLSearchParams(text)]);
  });
});
