import type { PostgresWarehouse } from './postgres.warehouse.js';
import type { Warehouse } from './warehouse.port.js';

/**
 * Test kit: a PostgreSQL warehouse that says it is Redshift, so the query layer compiles the
 * Redshift dialect and PostgreSQL runs it (it accepts nearly all of it; Redshift cannot run here).
 */
export function redshiftOnPostgres(pgw: PostgresWarehouse): Warehouse {
  return {
    dialect: 'redshift',
    init: () => pgw.init(),
    loadPartition: (t, p, k) => pgw.loadPartition(t, p, k),
    query: (sql, params, o) => pgw.query(sql, params, o),
    close: () => pgw.close(),
  };
}
