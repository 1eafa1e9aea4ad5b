import { describe, expect, it } from 'vitest';
import { MODULES, ROLES, type ModuleName } from './modules.js';
import { modulesFor } from './tally-server.js';

describe('the module table', () => {
  it('starts what a role needs and nothing of the others', () => {
    const api = modulesFor(['api']);
    expect(api).toEqual(expect.arrayContaining(['management', 'reports', 'warehouse', 'http']));
    expect(api).not.toContain('collector');
    expect(api).not.toContain('archiver');
    expect(api).not.toContain('pipeline');
    const collector = modulesFor(['collector']);
    expect(collector).toEqual(expect.arrayContaining(['collector', 'usage', 'http']));
    expect(collector).not.toContain('warehouse');
    expect(modulesFor(['scheduler'])).not.toContain('http');
  });

  it('starts every module after what it needs, so stopping in reverse stops it first', () => {
    const all = modulesFor(Object.keys(ROLES) as (keyof typeof ROLES)[]);
    for (const m of all) for (const n of MODULES[m].needs ?? []) expect(all.indexOf(n), `${m} needs ${n}`).toBeLessThan(all.indexOf(m));
    // running jobs wait on the archiver: the queue stops before it; the server drains before anything
    const stopOrder: ModuleName[] = [...all].reverse();
    expect(stopOrder.indexOf('jobs')).toBeLessThan(stopOrder.indexOf('archiver'));
    expect(stopOrder[0]).toBe('http');
    expect(stopOrder.at(-1)).toBe('dataDir');
  });
});
