import { bundledRates, dailyRates, type FxRate } from '../fx/ecb-rates.js';
import { TallyError } from '../errors.js';

/**
 * The `fx_rates` table every warehouse keeps beside the transformed tables (issue 14): one row
 * per (calendar day, currency), units per euro, filled forward (src/infra/fx/ecb-rates.ts).
 * Reports join it on the event's local date to convert revenue (src/query/catalog-ecommerce.ts).
 */
export const FX_TABLE = 'fx_rates';

export function fxCreateTable(types: { date: string; text: string; double: string }): string {
  return `CREATE TABLE IF NOT EXISTS ${FX_TABLE} (rate_date ${types.date}, currency ${types.text}, per_eur ${types.double})`;
}

/** Days filled past the last publication: a report of today still converts before the next refresh. */
const FILL_AHEAD_DAYS = 400;

/** Published rates as the daily rows the table holds, filled up to FILL_AHEAD_DAYS past today or the last publication. */
export function fxRows(published: readonly FxRate[], now = Date.now()): FxRate[] {
  if (published.length === 0) throw new TallyError('invalid_argument', 'no currency rates to load');
  const last = published.reduce((m, r) => (r.date > m ? r.date : m), '');
  const from = Math.max(now, Date.parse(`${last}T00:00:00Z`));
  return dailyRates(published, new Date(from + FILL_AHEAD_DAYS * 86_400_000).toISOString().slice(0, 10));
}

/** The bundled snapshot's rows (a warehouse with an empty table loads them at init). */
export function bundledFxRows(now = Date.now()): FxRate[] {
  return fxRows(bundledRates(), now);
}

/** A pooled PostgreSQL-protocol connection (PostgreSQL, Redshift). */
interface PooledClient {
  query(sql: string): Promise<unknown>;
  release(): void;
}

/**
 * Replaces every rate with these published ones (filled daily, fxRows) in one transaction on a
 * pooled connection, which it releases: DELETE then INSERT batches (Redshift's TRUNCATE would
 * commit on its own).
 */
export async function replaceRatesOn(client: PooledClient, published: readonly FxRate[]): Promise<{ rows: number }> {
  const rates = fxRows(published);
  try {
    await client.query('BEGIN');
    await client.query(`DELETE FROM ${FX_TABLE}`);
    for (const sql of fxInserts(rates)) await client.query(sql);
    await client.query('COMMIT');
    return { rows: rates.length };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** INSERT statements of at most `chunk` rows; every value is checked, then written as a literal. */
export function fxInserts(rows: readonly FxRate[], chunk = 2_000): string[] {
  const out: string[] = [];
  for (let i = 0; i < rows.length; i += chunk) {
    const values = rows.slice(i, i + chunk).map((r) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(r.date) || !/^[A-Z]{3}$/.test(r.currency) || !(Number.isFinite(r.perEur) && r.perEur > 0)) {
        throw new TallyError('invalid_argument', `bad currency rate ${JSON.stringify(r)}`);
      }
      return `(CAST('${r.date}' AS DATE), '${r.currency}', ${r.perEur})`;
    });
    out.push(`INSERT INTO ${FX_TABLE} (rate_date, currency, per_eur) VALUES ${values.join(', ')}`);
  }
  return out;
}
