import type { Db } from '../infra/metadata/db.js';

/** The data classes a retention applies to. */
export const DATA_CLASSES = ['raw', 'transformed', 'warehouse', 'deadLetters'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];
export type RetentionDays = Record<DataClass, number>;

const COLUMN: Record<DataClass, string> = { raw: 'raw_days', transformed: 'transformed_days', warehouse: 'warehouse_days', deadLetters: 'dead_letter_days' };

export interface DeletionReceipt {
  id: string;
  organizationId: string;
  propertyId: string;
  subject: { kind: 'user_id' | 'client_id'; sha256: string };
  reason: string;
  requestedBy: string | null;
  state: 'queued' | 'running' | 'done' | 'failed';
  counts: Record<string, number>;
  error: string | null;
  createdAt: string;
  completedAt: string | null;
}

/** The lifecycle's own rows (receipts, retention settings) and what it removes of the pipeline's bookkeeping. */
export class LifecycleRepository {
  constructor(readonly db: Db) {}

  async createReceipt(r: Pick<DeletionReceipt, 'id' | 'organizationId' | 'propertyId' | 'subject' | 'reason' | 'requestedBy'>): Promise<DeletionReceipt> {
    await this.db('deletion_receipts').insert({
      id: r.id,
      organization_id: r.organizationId,
      property_id: r.propertyId,
      subject_kind: r.subject.kind,
      subject_hash: r.subject.sha256,
      reason: r.reason,
      requested_by: r.requestedBy,
      state: 'queued',
    });
    return (await this.receipt(r.propertyId, r.id))!;
  }

  async updateReceipt(id: string, patch: { state: DeletionReceipt['state']; counts?: Record<string, number>; error?: string | null }): Promise<void> {
    await this.db('deletion_receipts')
      .where({ id })
      .update({
        state: patch.state,
        ...(patch.counts ? { counts: JSON.stringify(patch.counts) } : {}),
        ...(patch.error !== undefined ? { error: patch.error } : {}),
        ...(patch.state === 'done' || patch.state === 'failed' ? { completed_at: this.db.fn.now() } : {}),
      });
  }

  async receipt(propertyId: string, id: string): Promise<DeletionReceipt | null> {
    if (!/^[\w-]{1,64}$/.test(id)) return null;
    const row = await this.db('deletion_receipts').where({ id, property_id: propertyId }).first();
    return row ? receiptView(row) : null;
  }

  async receipts(propertyId: string, limit = 100): Promise<DeletionReceipt[]> {
    return (await this.db('deletion_receipts').where({ property_id: propertyId }).orderBy('created_at', 'desc').limit(limit)).map(receiptView);
  }

  /** The property's own retention per class (null: the plan's default). */
  async retentionSetting(propertyId: string): Promise<Record<DataClass, number | null>> {
    const row = await this.db('property_retention').where({ property_id: propertyId }).first();
    return Object.fromEntries(DATA_CLASSES.map((c) => [c, row?.[COLUMN[c]] ?? null])) as Record<DataClass, number | null>;
  }

  async setRetention(propertyId: string, days: Partial<Record<DataClass, number | null>>): Promise<void> {
    const cols = Object.fromEntries(Object.entries(days).map(([c, v]) => [COLUMN[c as DataClass], v]));
    await this.db('property_retention')
      .insert({ property_id: propertyId, ...cols, updated_at: this.db.fn.now() })
      .onConflict('property_id')
      .merge({ ...cols, updated_at: this.db.fn.now() });
  }

  /** Every property with its organisation and plan (the retention job's list). */
  async propertiesWithPlan(): Promise<{ propertyId: string; tenantId: string; planId: string }[]> {
    const rows = await this.db('properties as p').join('organizations as o', 'o.id', 'p.organization_id').select('p.id', 'p.organization_id', 'o.plan_id');
    return rows.map((r) => ({ propertyId: String(r.id), tenantId: String(r.organization_id), planId: String(r.plan_id) }));
  }

  async propertyExists(propertyId: string): Promise<boolean> {
    return /^\d{1,18}$/.test(propertyId) && Boolean(await this.db('properties').where({ id: propertyId }).first('id'));
  }

  /** Raw objects of the manifest (key, records) of one property. */
  async rawObjects(propertyId: string): Promise<{ key: string; records: number }[]> {
    return (await this.db('raw_objects').where({ property_id: propertyId }).select('key', 'records')).map((r) => ({
      key: String(r.key),
      records: Number(r.records),
    }));
  }

  /** Rows the transformed zone holds for the property, per table, as the pipeline recorded them. */
  async transformedRows(propertyId: string): Promise<Record<string, number>> {
    const rows: { table_name: string; n: unknown }[] = await this.db('partitions')
      .where({ property_id: propertyId })
      .groupBy('table_name')
      .select('table_name', this.db.raw('sum(rows) AS n'));
    return Object.fromEntries(rows.map((r) => [String(r.table_name), Number(r.n)]));
  }

  /** The property's transformed partitions with their files. */
  async partitions(propertyId: string): Promise<{ table: string; date: string; keys: string[] }[]> {
    const rows = await this.db('partitions').where({ property_id: propertyId }).orderBy(['dt', 'table_name']).select('table_name', 'dt', 'object_keys');
    return rows.map((r) => ({
      table: String(r.table_name),
      date: isoDate(r.dt),
      keys: typeof r.object_keys === 'string' ? JSON.parse(r.object_keys) : r.object_keys,
    }));
  }

  /** After a partition's files were rewritten and loaded in place: its row count, loaded now. */
  async partitionRewritten(propertyId: string, table: string, date: string, rows: number): Promise<void> {
    await this.db('partitions')
      .where({ property_id: propertyId, table_name: table, dt: date })
      .update({ rows, loaded_rows: rows, transformed_at: this.db.fn.now(), loaded_at: this.db.fn.now() });
  }

  /** Forgets transformed partitions before `beforeDate` (their files and warehouse rows are removed by the caller). */
  async forgetPartitionsBefore(propertyId: string, table: string, beforeDate: string): Promise<void> {
    await this.db('partitions').where({ property_id: propertyId, table_name: table }).andWhere('dt', '<', beforeDate).delete();
  }

  /** The pipeline's bookkeeping of a deleted property (its own rows cascade with the property). */
  async forgetProperty(propertyId: string): Promise<void> {
    if (!/^\d{1,18}$/.test(propertyId)) return;
    await this.db.transaction(async (tx) => {
      for (const t of ['raw_objects', 'partitions', 'pipeline_state', 'usage_hourly', 'job_runs']) await tx(t).where({ property_id: propertyId }).delete();
    });
  }
}

function isoDate(v: unknown): string {
  if (v instanceof Date) {
    // pg returns DATE as a local-midnight Date: its calendar fields, not its UTC instant
    return `${v.getFullYear()}-${String(v.getMonth() + 1).padStart(2, '0')}-${String(v.getDate()).padStart(2, '0')}`;
  }
  return String(v).slice(0, 10);
}

function receiptView(r: Record<string, any>): DeletionReceipt {
  const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);
  return {
    id: r.id,
    organizationId: r.organization_id,
    propertyId: String(r.property_id),
    subject: { kind: r.subject_kind, sha256: r.subject_hash },
    reason: r.reason,
    requestedBy: r.requested_by ?? null,
    state: r.state,
    counts: typeof r.counts === 'string' ? JSON.parse(r.counts) : (r.counts ?? {}),
    error: r.error ?? null,
    createdAt: iso(r.created_at)!,
    completedAt: iso(r.completed_at),
  };
}
