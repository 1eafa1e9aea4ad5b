import type { PostgresWarehouse } from './postgres.warehouse.js';
import type { Warehouse } from './warehouse.port.js';

/**
 * Test kit: a PostgreSQL warehouse that says it is Redshift, so the query layer compiles the
 * Redshift dialect and PostgreSQL runs it (it accepts nearly all of it; Redshift cannot run here).
 * The one function PostgreSQL spells differently is given Redshift's signature on `init`:
 * Redshift's `JSON_EXTRACT_PATH_TEXT(varchar, path...)` reads JSON text, PostgreSQL's takes `json`,
 * so a `(text, VARIADIC text[])` overload casts and calls PostgreSQL's own.
 */
export function redshiftOnPostgres(pgw: PostgresWarehouse): Warehouse {
  return {
    dialect: 'redshift',
    init: async () => {
      await pgw.init();
      await pgw.query(
        'CREATE OR REPLACE FUNCTION json_extract_path_text(j text, VARIADIC path text[]) RETURNS text ' +
          'LANGUAGE sql IMMUTABLE AS $$ SELECT pg_catalog.json_extract_path_text(CAST(j AS json), VARIADIC path) $$',
        [],
      );
    },
    loadPartition: (t, p, k) => pgw.loadPartition(t, p, k),
    replaceRates: (rows) => pgw.replaceRates(rows),
    query: (sql, params, o) => pgw.query(sql, params, o),
    close: () => pgw.close(),
  };
}
