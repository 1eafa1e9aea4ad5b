import { join } from 'node:path';
import { describe } from 'vitest';
import { DuckDbWarehouse } from './duckdb.warehouse.js';
import { warehouseContract } from './warehouse.contract.js';

describe('DuckDbWarehouse passes the warehouse contract', () => {
  warehouseContract((root) => DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(root, k) }));
});
