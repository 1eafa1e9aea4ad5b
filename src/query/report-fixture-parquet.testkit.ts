/**
 * Test kit: writes a fixture to Parquet partitions (one object per table, tenant, property and
 * date, as the transformed zone lays them out) and loads them into a warehouse. Only tests import this file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EVENT_COLUMNS, IDENTITY_COLUMNS, SESSION_COLUMNS } from '../domain/transformed-schema.js';
import type { Warehouse, WarehouseTable } from '../infra/warehouse/warehouse.port.js';
import { DUCKDB_TYPES } from '../infra/column-types.js';
import type { Fixture } from './report-fixture-rows.testkit.js';

export interface WrittenPartition {
  table: WarehouseTable;
  tenantId: string;
  propertyId: string;
  date: string;
  key: string;
}

/** Writes one Parquet object per (table, tenant, property, date) under `dir`, with DuckDB COPY. */
export async function writeParquetPartitions(fixture: Fixture, dir: string): Promise<WrittenPartition[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const out: WrittenPartition[] = [];
  try {
    for (const [table, rows, columns] of [
      ['events', fixture.events, EVENT_COLUMNS],
      ['sessions', fixture.sessions, SESSION_COLUMNS],
      ['identities', fixture.identities, IDENTITY_COLUMNS],
    ] as const) {
      const ndjson = join(dir, `${table}.ndjson`);
      await mkdir(dir, { recursive: true });
      await writeFile(ndjson, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
      const spec = columns.map((c) => `${c.name}: '${DUCKDB_TYPES[c.type]}'`).join(', ');
      await conn.run(`CREATE TABLE src_${table} AS SELECT * FROM read_json('${ndjson}', format = 'newline_delimited', columns = {${spec}})`);
      const parts = new Map<string, WrittenPartition>();
      for (const row of rows as readonly { tenant_id: string; property_id: string; local_date: string }[]) {
        const k = `${row.tenant_id}/${row.property_id}/${row.local_date}`;
        if (!parts.has(k)) {
          const key = `transformed/${table}/tenant=${row.tenant_id}/property=${row.property_id}/dt=${row.local_date}/part-0.parquet`;
          parts.set(k, { table, tenantId: row.tenant_id, propertyId: row.property_id, date: row.local_date, key });
        }
      }
      for (const part of parts.values()) {
        const path = join(dir, part.key);
        await mkdir(dirname(path), { recursive: true });
        await conn.run(
          `COPY (SELECT * FROM src_${table} WHERE tenant_id = '${part.tenantId}' AND property_id = '${part.propertyId}' ` +
            `AND local_date = DATE '${part.date}') TO '${path}' (FORMAT PARQUET)`,
        );
        out.push(part);
      }
    }
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return out;
}

export async function loadPartitions(warehouse: Warehouse, parts: WrittenPartition[]): Promise<number> {
  let rows = 0;
  for (const p of parts) {
    rows += (await warehouse.loadPartition(p.table, { tenantId: p.tenantId, propertyId: p.propertyId, date: p.date }, [p.key])).rows;
  }
  return rows;
}
