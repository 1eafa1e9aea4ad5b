import { iso31662 } from 'iso-3166';

/**
 * ISO 3166-2 code -> English name, for the `region` dimension: GA4 reports region names
 * ("California", "England"), while the geo lookup (geoip-lite) and GA4 MP's user_location give
 * codes ("US-CA"). Data: the `iso-3166` package (MIT, from Wikipedia's ISO 3166-2 tables), first-level
 * subdivisions only (what geo lookups give). A code without a name is reported as it is.
 */
export const REGION_NAMES: ReadonlyMap<string, string> = new Map(iso31662.filter((s) => s.parent === s.code.slice(0, 2)).map((s) => [s.code, s.name] as const));
