import { DIMENSIONS, METRICS, type DimensionDef, type MetricDef } from './catalog.js';
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

export function buildMetadata(propertyId: string, enumAsInt: boolean): MetadataResponse {
  return {
    name: `properties/${propertyId}/metadata`,
    dimensions: DIMENSIONS.map(dimensionMetadata),
    metrics: METRICS.map((m) => metricMetadata(m, enumAsInt)),
  };
}
