import type { CustomDefinition } from '../domain/custom-definition.js';

/** A custom definition for tests: an active event-scoped dimension `color`, with `over` applied. */
export function customDefinition(over: Partial<CustomDefinition> = {}): CustomDefinition {
  return {
    id: 'd',
    propertyId: '1',
    kind: 'dimension',
    scope: 'EVENT',
    parameterName: 'color',
    displayName: 'Color',
    description: '',
    measurementUnit: null,
    createdAt: '2026-12-06T00:00:00.000Z',
    archived: false,
    ...over,
  };
}
