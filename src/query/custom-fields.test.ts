import { describe, expect, it } from 'vitest';
import { isTallyError } from '../infra/errors.js';
import { checkCustomFields } from './custom-fields.js';
import { customDefinition } from './custom-fields.testkit.js';
import { buildMetadata } from './metadata.js';
import { parseRunReportRequest } from './report-request.js';

const def = customDefinition;
const DEFS = [
  def({ id: 'a', parameterName: 'color' }),
  def({ id: 'b', scope: 'USER', parameterName: 'tier', displayName: 'Tier' }),
  def({ id: 'c', kind: 'metric', parameterName: 'cost', displayName: 'Cost', measurementUnit: 'STANDARD' }),
  def({ id: 'd', parameterName: 'old', displayName: 'Old', archived: true }),
];
const request = (body: Record<string, unknown>) =>
  parseRunReportRequest({ dateRanges: [{ startDate: '2024-03-01', endDate: '2024-03-02' }], ...body }, { timeZone: 'UTC' });
const refusal = (body: Record<string, unknown>, defs = DEFS): string | null => {
  try {
    checkCustomFields(request(body), defs);
    return null;
  } catch (e) {
    if (!isTallyError(e)) throw e;
    return e.message;
  }
};

describe('custom fields in a report request', () => {
  it('accepts active definitions as dimensions, filters, metrics and in metric expressions', () => {
    expect(
      refusal({
        dimensions: [{ name: 'customEvent:color' }, { name: 'customUser:tier' }],
        metrics: [{ name: 'customEvent:cost' }, { name: 'perEvent', expression: 'customEvent:cost/eventCount' }],
        dimensionFilter: { filter: { fieldName: 'customUser:tier', stringFilter: { value: 'gold' } } },
      }),
    ).toBeNull();
  });

  it('refuses unregistered, archived, wrongly scoped and wrongly kinded names as GA4 does', () => {
    expect(refusal({ dimensions: [{ name: 'customEvent:size' }], metrics: [{ name: 'eventCount' }] })).toMatch(/customEvent:size/);
    expect(refusal({ dimensions: [{ name: 'customEvent:old' }], metrics: [{ name: 'eventCount' }] })).toMatch(/customEvent:old/);
    expect(refusal({ dimensions: [{ name: 'customUser:color' }], metrics: [{ name: 'eventCount' }] })).toMatch(/customUser:color/);
    expect(refusal({ metrics: [{ name: 'customEvent:color' }] })).toMatch(/customEvent:color/);
    expect(refusal({ metrics: [{ name: 'x', expression: 'customEvent:old + 1' }] })).toMatch(/customEvent:old/);
    expect(
      refusal({ metrics: [{ name: 'eventCount' }], dimensionFilter: { filter: { fieldName: 'customEvent:size', stringFilter: { value: 'L' } } } }),
    ).toMatch(/customEvent:size/);
    // another property's definitions are not this one's
    expect(refusal({ dimensions: [{ name: 'customEvent:color' }], metrics: [{ name: 'eventCount' }] }, [])).toMatch(/customEvent:color/);
  });

  it('lists active definitions in metadata as custom, and leaves archived ones out', () => {
    const m = buildMetadata('1', false, DEFS);
    const custom = [...m.dimensions, ...m.metrics].filter((x) => x.customDefinition);
    expect(custom.map((x) => [x.apiName, x.uiName, x.category])).toEqual([
      ['customEvent:color', 'Color', 'Event'],
      ['customUser:tier', 'Tier', 'User'],
      ['customEvent:cost', 'Cost', 'Event'],
    ]);
    expect(m.metrics.find((x) => x.apiName === 'customEvent:cost')?.type).toBe('TYPE_STANDARD');
    expect(JSON.stringify(m)).not.toContain('customEvent:old');
    expect(buildMetadata('1', false).dimensions.some((x) => x.customDefinition)).toBe(false);
  });
});
