import { join } from 'node:path';
import { describe } from 'vitest';
import { DuckDbWarehouse } from '../../infra/warehouse/duckdb.warehouse.js';
import { sqlSandboxSuite } from './sql.testkit.js';

describe('POST /v1/sql on the DuckDB warehouse', () => {
  sqlSandboxSuite(async (dir) => {
    const wh = await DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) });
    await wh.init();
    return wh;
  });
});
