import { TRANSFORMED_TABLE_NAMES, propertyDataPrefixes, type TransformedTable } from '../domain/transformed-schema.js';
import { metrics } from '../infra/metrics/metrics.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { LifecycleRepository } from './lifecycle.repository.js';

export interface PurgeDeps {
  repo: LifecycleRepository;
  store: ObjectStore;
  warehouse: Warehouse;
}

/** The job that erases a deleted property's data (queued when a property or organisation is deleted). */
export const PURGE_PROPERTY_JOB = 'purge-property';

/**
 * Erases every piece of one property's data: its objects in every zone (raw, dead letters,
 * transformed tables, transform state), its warehouse partitions and the pipeline's bookkeeping.
 * Run after the property row is gone (its receipts and retention rows cascade with it).
 */
export async function purgeProperty(deps: PurgeDeps, p: { tenantId: string; propertyId: string }): Promise<{ objects: number; warehousePartitions: number }> {
  let objects = 0;
  for (const prefix of propertyDataPrefixes(p)) {
    const keys = (await deps.store.list(prefix)).map((o) => o.key);
    if (keys.length) await deps.store.delete(keys);
    objects += keys.length;
  }
  let warehousePartitions = 0;
  for (const table of TRANSFORMED_TABLE_NAMES) {
    for (const date of await warehouseDates(deps.warehouse, table, p)) {
      await deps.warehouse.loadPartition(table, { ...p, date }, []);
      warehousePartitions++;
    }
  }
  await deps.repo.forgetProperty(p.propertyId);
  metrics.lifecycleRecords('purge', 'objects', objects);
  return { objects, warehousePartitions };
}

/** Local dates of the property's rows in one warehouse table (before `beforeDate` when given). */
export async function warehouseDates(
  w: Warehouse,
  table: TransformedTable,
  p: { tenantId: string; propertyId: string },
  beforeDate?: string,
): Promise<string[]> {
  const rows = await w.query<{ d: unknown }>(
    `SELECT DISTINCT CAST(local_date AS VARCHAR) AS d FROM ${table} WHERE tenant_id = $1 AND property_id = $2${beforeDate ? ' AND local_date < CAST($3 AS DATE)' : ''}`,
    beforeDate ? [p.tenantId, p.propertyId, beforeDate] : [p.tenantId, p.propertyId],
  );
  return rows.map((r) => String(r.d).slice(0, 10));
}

/**
 * Properties whose data is still somewhere although the property is gone: in the pipeline's
 * bookkeeping (an event archived after the purge) or in the warehouse. The retention job purges them.
 */
export async function orphanProperties(deps: PurgeDeps): Promise<{ tenantId: string; propertyId: string }[]> {
  const seen = new Map<string, string>();
  for (const t of ['raw_objects', 'partitions', 'pipeline_state']) {
    for (const r of await deps.repo.db(t).whereNotIn('property_id', deps.repo.db('properties').select('id')).distinct('tenant_id', 'property_id')) {
      seen.set(String(r.property_id), String(r.tenant_id));
    }
  }
  for (const table of TRANSFORMED_TABLE_NAMES) {
    for (const r of await deps.warehouse.query<{ tenant_id: string; property_id: string }>(`SELECT DISTINCT tenant_id, property_id FROM ${table}`, [])) {
      const id = String(r.property_id);
      if (!seen.has(id) && !(await deps.repo.propertyExists(id))) seen.set(id, String(r.tenant_id));
    }
  }
  return [...seen].map(([propertyId, tenantId]) => ({ tenantId, propertyId }));
}
