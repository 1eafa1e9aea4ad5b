/**
 * A property's custom definition (issue 14, GA4's custom dimensions and metrics): reported as
 * `customEvent:<parameterName>` (event scope: an event parameter) or `customUser:<parameterName>`
 * (user scope: a user property). Custom metrics are event-scoped and sum a numeric parameter.
 */
export type CustomDefinitionKind = 'dimension' | 'metric';
export type CustomDefinitionScope = 'EVENT' | 'USER';

export interface CustomDefinition {
  id: string;
  propertyId: string;
  kind: CustomDefinitionKind;
  scope: CustomDefinitionScope;
  parameterName: string;
  displayName: string;
  description: string;
  /** Metrics only: GA4's MeasurementUnit (STANDARD, CURRENCY, SECONDS, …). */
  measurementUnit: string | null;
  createdAt: string;
  archived: boolean;
}

/** GA4's rule for a parameter name: a letter, then letters, digits or underscores, at most 40. */
export const PARAMETER_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

/** The API name a report uses for a definition. */
export function customApiName(d: Pick<CustomDefinition, 'scope' | 'parameterName'>): string {
  return `${d.scope === 'USER' ? 'customUser' : 'customEvent'}:${d.parameterName}`;
}

/** The scope and parameter of a `customEvent:`/`customUser:` name, or null for any other name. */
export function parseCustomName(name: string): { scope: CustomDefinitionScope; parameterName: string } | null {
  const m = /^(customEvent|customUser):(.+)$/.exec(name);
  if (!m || !PARAMETER_NAME.test(m[2])) return null;
  return { scope: m[1] === 'customUser' ? 'USER' : 'EVENT', parameterName: m[2] };
}
