import { customApiName, type CustomDefinition } from '../domain/custom-definition.js';
import { DIMENSIONS, findDimension, findMetric, METRICS, type DimensionDef, type MetricDef } from './catalog.js';
import { encodeEnum, METRIC_TYPE } from './ga4-enums.js';

/** GA4 getMetadata (GA4-DEFINITIONS §C.11), built from the catalog. */
export interface DimensionMetadata {
  apiName: string;
  uiName: string;
  description: string;
  deprecatedApiNames: string[];
  customDefinition: boolean;
  category: string;
}

export interface MetricMetadata {
  apiName: string;
  uiName: string;
  description: string;
  deprecatedApiNames: string[];
  type: string | number;
  expression: string;
  customDefinition: boolean;
  blockedReasons: string[];
  category: string;
}

export interface MetadataResponse {
  name: string;
  dimensions: DimensionMetadata[];
  metrics: MetricMetadata[];
}

export function dimensionMetadata(d: DimensionDef): DimensionMetadata {
  return {
    apiName: d.apiName,
    uiName: d.uiName,
    description: d.description,
    deprecatedApiNames: [...(d.deprecatedApiNames ?? [])],
    customDefinition: false,
    category: d.category,
  };
}

export function metricMetadata(m: MetricDef, enumAsInt: boolean): MetricMetadata {
  return {
    apiName: m.apiName,
    uiName: m.uiName,
    description: m.description,
    deprecatedApiNames: [...(m.deprecatedApiNames ?? [])],
    type: encodeEnum(METRIC_TYPE, m.type, enumAsInt),
    expression: m.expression ?? '',
    customDefinition: false,
    blockedReasons: [],
    category: m.category,
  };
}

/** The catalog, then the property's active custom definitions (`customDefinition: true`); archived ones are left out. */
export function buildMetadata(propertyId: string, enumAsInt: boolean, custom: readonly CustomDefinition[] = []): MetadataResponse {
  const active = custom.filter((c) => !c.archived);
  const customDims = active.filter((c) => c.kind === 'dimension');
  const customMetrics = active.filter((c) => c.kind === 'metric' && c.scope === 'EVENT');
  return {
    name: `properties/${propertyId}/metadata`,
    dimensions: [
      ...DIMENSIONS.map(dimensionMetadata),
      ...customDims.map((c) => ({
        ...dimensionMetadata(findDimension(customApiName(c))!),
        uiName: c.displayName,
        description: c.description,
        customDefinition: true,
        category: c.scope === 'USER' ? 'User' : 'Event',
      })),
    ],
    metrics: [
      ...METRICS.map((m) => metricMetadata(m, enumAsInt)),
      ...customMetrics.map((c) => ({
        ...metricMetadata(findMetric(customApiName(c))!, enumAsInt),
        uiName: c.displayName,
        description: c.description,
        customDefinition: true,
        category: 'Event',
      })),
    ],
  };
}
