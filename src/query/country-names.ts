/**
 * ISO 3166-1 alpha-2 code -> English name (as Intl knows it), for the `country` dimension.
 * Withdrawn codes that Intl maps onto a current country's name are left out, so no two codes
 * share a name (a report groups by code and names the groups afterwards).
 */
const WITHDRAWN = new Set(['AN', 'BU', 'CS', 'DD', 'DY', 'FX', 'HV', 'NH', 'RH', 'SU', 'TP', 'UK', 'VD', 'YD', 'YU', 'ZR', 'ZZ']);

function buildCountryNames(): ReadonlyMap<string, string> {
  const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  const out = new Map<string, string>();
  for (let a = 65; a <= 90; a++) {
    for (let b = 65; b <= 90; b++) {
      const code = String.fromCharCode(a, b);
      const name = names.of(code);
      if (name && name !== code && !WITHDRAWN.has(code)) out.set(code, name);
    }
  }
  return out;
}

export const COUNTRY_NAMES: ReadonlyMap<string, string> = buildCountryNames();
