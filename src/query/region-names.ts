import { iso31662 } from 'iso-3166';

/**
 * Codes geo databases still give after ISO renamed them (geoip-lite's data predates the 2023
 * changes for India), mapped to today's code.
 */
const FORMER_CODES: Record<string, string> = { 'IN-TG': 'IN-TS', 'IN-CT': 'IN-CG', 'IN-OR': 'IN-OD', 'IN-UT': 'IN-UK', 'IN-DD': 'IN-DH', 'IN-DN': 'IN-DH' };

/** English as GA4 writes region names: without diacritics or a bracketed other name ("Tamil Nādu" -> "Tamil Nadu"). */
function plain(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/\s*\([^)]*\)$/, '')
    .trim();
}

/**
 * ISO 3166-2 code -> English name, for the `region` dimension: GA4 reports region names
 * ("California", "England"), while the geo lookup (geoip-lite) and GA4 MP's user_location give
 * codes ("US-CA"). Data: the `iso-3166` package (MIT, from Wikipedia's ISO 3166-2 tables), first-level
 * subdivisions only (what geo lookups give), plus FORMER_CODES. A code without a name is reported as it is.
 */
export const REGION_NAMES: ReadonlyMap<string, string> = (() => {
  const names = new Map(iso31662.filter((s) => s.parent === s.code.slice(0, 2)).map((s) => [s.code, plain(s.name)] as const));
  for (const [former, code] of Object.entries(FORMER_CODES)) if (names.has(code)) names.set(former, names.get(code)!);
  return names;
})();
