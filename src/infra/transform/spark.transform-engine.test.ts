import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { localCores } from './spark.transform-engine.js';

describe('localCores (the default shuffle and raw partition count comes from it)', () => {
  it('reads the cores of a local master', () => {
    expect(localCores('local')).toBe(1);
    expect(localCores('local[2]')).toBe(2);
    expect(localCores('local[4,3]')).toBe(4);
    expect(localCores('local[*]')).toBe(availableParallelism());
  });

  it('is null for a cluster master', () => {
    expect(localCores('spark://host:7077')).toBeNull();
    expect(localCores('yarn')).toBeNull();
    expect(localCores('local-cluster[2,1,1024]')).toBeNull();
  });
});
