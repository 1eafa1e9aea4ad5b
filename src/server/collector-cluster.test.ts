import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseWorkers } from './collector-cluster.js';

describe('tally collector --workers', () => {
  it('runs a worker per core by default where the configuration allows several, else one', () => {
    expect(parseWorkers(undefined)).toBe(os.availableParallelism());
    expect(parseWorkers(undefined, false)).toBe(1);
    expect(parseWorkers('1')).toBe(1);
    expect(parseWorkers('3')).toBe(3);
    expect(parseWorkers('auto')).toBe(os.availableParallelism());
  });

  it('refuses what is not a count', () => {
    for (const bad of ['0', '-1', '1.5', 'two', '257', '']) expect(() => parseWorkers(bad), bad).toThrow(/1 to 256 or auto/);
  });
});
