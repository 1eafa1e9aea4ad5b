import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { apiName, definitionErrorText, groupDefinitions, type CustomDefinition } from './custom-definitions-api';

const def = (over: Partial<CustomDefinition>): CustomDefinition => ({
  id: over.parameterName ?? 'x',
  kind: 'dimension',
  scope: 'EVENT',
  parameterName: 'x',
  displayName: 'X',
  description: '',
  measurementUnit: null,
  createdAt: '2026-12-01T00:00:00Z',
  archived: false,
  ...over,
});

describe('Settings › Custom definitions helpers', () => {
  it('names a definition as reports do', () => {
    expect(apiName({ scope: 'EVENT', parameterName: 'shipping_tier' })).toBe('customEvent:shipping_tier');
    expect(apiName({ scope: 'USER', parameterName: 'loyalty' })).toBe('customUser:loyalty');
  });

  it('lists active dimensions and metrics by scope then name, archived ones apart', () => {
    const g = groupDefinitions([
      def({ parameterName: 'tier', displayName: 'Tier' }),
      def({ parameterName: 'loyalty', displayName: 'Loyalty', scope: 'USER' }),
      def({ parameterName: 'color', displayName: 'Color' }),
      def({ parameterName: 'cost', displayName: 'Cost', kind: 'metric' }),
      def({ parameterName: 'old', displayName: 'Old', archived: true }),
    ]);
    expect(g.dimensions.map((d) => d.parameterName)).toEqual(['color', 'tier', 'loyalty']);
    expect(g.metrics.map((d) => d.parameterName)).toEqual(['cost']);
    expect(g.archived.map((d) => d.parameterName)).toEqual(['old']);
  });

  it('words each refusal by its machine-readable reason, and falls back to the message', () => {
    const err = (reason: string, message = 'm') => new ApiError(409, 'conflict', reason, message);
    expect(definitionErrorText(err('custom_definition_exists'))).toMatch(/already has an active definition/);
    expect(definitionErrorText(err('role'))).toMatch(/ask an editor/);
    expect(definitionErrorText(err('metric_scope'))).toMatch(/event-scoped/);
    expect(definitionErrorText(err('custom_definition_limit', 'A property has at most 50 active event-scoped custom dimensions.'))).toBe(
      'A property has at most 50 active event-scoped custom dimensions. Archive one you no longer use to make room.',
    );
    expect(definitionErrorText(err('something_new', 'Said by the API.'))).toBe('Said by the API.');
    expect(definitionErrorText(null)).toBeNull();
  });
});
