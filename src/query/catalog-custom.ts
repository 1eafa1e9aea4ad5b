import { parseCustomName } from '../domain/custom-definition.js';
import { NOT_SET } from './catalog-dimensions.js';
import type { AtomDef, DimensionDef, MetricDef } from './catalog.types.js';
import { jsonText } from './sql-dialect.js';

/**
 * Custom definitions (issue 14): `customEvent:NAME` and `customUser:NAME` read the event's
 * `params` or `user_props` JSON in the warehouse when the report runs, so a definition applies to
 * everything already loaded (no reprocess). The names resolve here by their form; whether the
 * property has registered (and not archived) the definition is checked per request by the router
 * (`custom-fields.ts`). A user-scoped dimension takes the user property as the event carried it.
 */

/** A `customEvent:`/`customUser:` dimension, or undefined. */
export function customDimension(name: string): DimensionDef | undefined {
  const c = parseCustomName(name);
  if (!c) return undefined;
  const column = c.scope === 'USER' ? 'e.user_props' : 'e.params';
  return {
    apiName: name,
    uiName: c.parameterName,
    description: `${c.scope === 'USER' ? 'User' : 'Event'}-scoped custom dimension over ${c.scope === 'USER' ? 'the user property' : 'the event parameter'} ${c.parameterName}.`,
    category: 'Custom',
    scope: c.scope === 'USER' ? 'user' : 'event',
    onEvent: (d) => `COALESCE(${jsonText(d, column, c.parameterName)}, ${NOT_SET})`,
  };
}

const ATOM_PREFIX = 'cm_';

/** A `customEvent:` metric (the sum of a numeric event parameter), or undefined. */
export function customMetric(name: string): MetricDef | undefined {
  const c = parseCustomName(name);
  if (!c || c.scope !== 'EVENT') return undefined;
  const atomName = ATOM_PREFIX + c.parameterName;
  return {
    apiName: name,
    uiName: c.parameterName,
    description: `Event-scoped custom metric: the sum of the event parameter ${c.parameterName}.`,
    category: 'Custom',
    type: 'TYPE_STANDARD',
    scope: 'event',
    atoms: [atomName],
    sql: (a) => a(atomName),
  };
}

/** The atom of a custom metric (`cm_<parameter>`), or undefined. */
export function customAtom(name: string): AtomDef | undefined {
  if (!name.startsWith(ATOM_PREFIX)) return undefined;
  const parameter = name.slice(ATOM_PREFIX.length);
  if (!parseCustomName(`customEvent:${parameter}`)) return undefined;
  return {
    name,
    group: 'event',
    type: 'double',
    sql: (d) => `COALESCE(SUM(${d.toNumber(jsonText(d, 'e.params', parameter))}), 0)`,
  };
}
