/**
 * Data API v1beta enums with their proto numbers (GA4-DEFINITIONS §C.8). The numbers have gaps;
 * never derive them from declaration order.
 */
export const METRIC_TYPE = {
  METRIC_TYPE_UNSPECIFIED: 0,
  TYPE_INTEGER: 1,
  TYPE_FLOAT: 2,
  TYPE_SECONDS: 4,
  TYPE_MILLISECONDS: 5,
  TYPE_MINUTES: 6,
  TYPE_HOURS: 7,
  TYPE_STANDARD: 8,
  TYPE_CURRENCY: 9,
  TYPE_FEET: 10,
  TYPE_MILES: 11,
  TYPE_METERS: 12,
  TYPE_KILOMETERS: 13,
} as const;

export const METRIC_AGGREGATION = { METRIC_AGGREGATION_UNSPECIFIED: 0, TOTAL: 1, COUNT: 4, MINIMUM: 5, MAXIMUM: 6 } as const;

export const MATCH_TYPE = {
  MATCH_TYPE_UNSPECIFIED: 0,
  EXACT: 1,
  BEGINS_WITH: 2,
  ENDS_WITH: 3,
  CONTAINS: 4,
  FULL_REGEXP: 5,
  PARTIAL_REGEXP: 6,
} as const;

export const NUMERIC_OPERATION = {
  OPERATION_UNSPECIFIED: 0,
  EQUAL: 1,
  LESS_THAN: 2,
  LESS_THAN_OR_EQUAL: 3,
  GREATER_THAN: 4,
  GREATER_THAN_OR_EQUAL: 5,
} as const;

export const ORDER_TYPE = { ORDER_TYPE_UNSPECIFIED: 0, ALPHANUMERIC: 1, CASE_INSENSITIVE_ALPHANUMERIC: 2, NUMERIC: 3 } as const;

export const COMPATIBILITY = { COMPATIBILITY_UNSPECIFIED: 0, COMPATIBLE: 1, INCOMPATIBLE: 2 } as const;

export type EnumTable = Readonly<Record<string, number>>;

/** A request's enum value, sent as its name or its number; undefined when it is neither. */
export function enumName<T extends EnumTable>(table: T, value: unknown): (keyof T & string) | undefined {
  if (typeof value === 'string' && Object.hasOwn(table, value)) return value as keyof T & string;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  return (Object.keys(table) as (keyof T & string)[]).find((k) => table[k] === n);
}

/** How a response spells an enum: its number under `$alt=json;enum-encoding=int`, else its name. */
export function encodeEnum<T extends EnumTable>(table: T, name: keyof T & string, asInt: boolean): string | number {
  return asInt ? table[name] : name;
}
