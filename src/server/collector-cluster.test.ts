import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { MAX_FAILED_STARTS, StartFailures, parseWorkers } from './collector-cluster.js';

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

  it('gives up after workers die before listening five times in a row; a worker that listened resets the count', () => {
    const starts = new StartFailures();
    for (let i = 1; i < MAX_FAILED_STARTS; i++) expect(starts.exited(false), `failure ${i}`).toBe(false);
    starts.listened();
    for (let i = 1; i < MAX_FAILED_STARTS; i++) expect(starts.exited(false)).toBe(false);
    // a worker that served and then died is not a failed start
    expect(starts.exited(true)).toBe(false);
    expect(starts.exited(false)).toBe(true);
  });
});
