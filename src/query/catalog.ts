import { customAtom, customDimension, customMetric } from './catalog.custom.js';
import { STANDARD_DIMENSIONS } from './catalog.dimensions.js';
import { ECOMMERCE_ATOMS, ECOMMERCE_DIMENSIONS, ECOMMERCE_METRICS } from './catalog.ecommerce.js';
import { STANDARD_ATOMS, STANDARD_METRICS } from './catalog.metrics.js';
import type { AtomDef, DimensionDef, MetricDef } from './catalog.types.js';

/**
 * The one dimension and metric catalog every warehouse dialect compiles from, put together from
 * its parts: the types and SQL helpers (`catalog.types.ts`), the standard dimensions
 * (`catalog.dimensions.ts`) and metrics with their atoms (`catalog.metrics.ts`), e-commerce
 * (`catalog.ecommerce.ts`), and the per-property custom definitions, resolved by their name's form
 * (`catalog.custom.ts`).
 */
export * from './catalog.types.js';
export { USER_KEY } from './catalog.metrics.js';

export const DIMENSIONS: readonly DimensionDef[] = [...STANDARD_DIMENSIONS, ...ECOMMERCE_DIMENSIONS];
export const METRICS: readonly MetricDef[] = [...STANDARD_METRICS, ...ECOMMERCE_METRICS];
export const ATOMS: readonly AtomDef[] = [...STANDARD_ATOMS, ...ECOMMERCE_ATOMS];

const byName = <T extends { apiName: string; deprecatedApiNames?: readonly string[] }>(defs: readonly T[]) => {
  const m = new Map<string, T>();
  for (const def of defs) {
    m.set(def.apiName, def);
    for (const old of def.deprecatedApiNames ?? []) m.set(old, def);
  }
  return m;
};

const DIMENSION_BY_NAME = byName(DIMENSIONS);
const METRIC_BY_NAME = byName(METRICS);
const ATOM_BY_NAME = new Map(ATOMS.map((a) => [a.name, a]));

/** By API name or a deprecated API name. */
export function findDimension(name: string): DimensionDef | undefined {
  return DIMENSION_BY_NAME.get(name) ?? customDimension(name);
}

export function findMetric(name: string): MetricDef | undefined {
  return METRIC_BY_NAME.get(name) ?? customMetric(name);
}

export function atom(name: string): AtomDef {
  const def = ATOM_BY_NAME.get(name) ?? customAtom(name);
  if (!def) throw new Error(`catalog: unknown atom ${name}`);
  return def;
}
