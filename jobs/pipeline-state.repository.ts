import type { Db } from '../src/infra/metadata/db.js';

/** The pipeline's bookkeeping in the metadata DB: what was archived, transformed and loaded. */
export interface RawObjectEntry {
  key: string;
  tenantId: string;
  propertyId: string;
  records: number;
  minEventMs: number;
  maxEventMs: number;
}

export interface PartitionEntry {
  tenantId: string;
  propertyId: string;
  table: 'events' | 'sessions';
  date: string;
  keys: string[];
  rows: number;
}

export class PipelineStateRepository {
  constructor(private readonly db: Db) {}

  async recordRawObjects(entries: RawObjectEntry[]): Promise<void> {
    if (!entries.length) return;
    await this.db.transaction(async (tx) => {
      for (const e of entries) {
        await tx.raw(
          `INSERT INTO raw_objects (key, tenant_id, property_id, records, min_event_ms, max_event_ms, seq)
           VALUES (?, ?, ?, ?, ?, ?, nextval('raw_object_seq'))
           ON CONFLICT (key) DO UPDATE SET records = EXCLUDED.records, min_event_ms = EXCLUDED.min_event_ms,
             max_event_ms = EXCLUDED.max_event_ms, seq = EXCLUDED.seq, archived_at = now()`,
          [e.key, e.tenantId, e.propertyId, e.records, e.minEventMs, e.maxEventMs],
        );
      }
    });
  }

  async forgetRawObjects(keys: string[]): Promise<void> {
    if (keys.length) await this.db('raw_objects').whereIn('key', keys).delete();
  }

  /** Properties with raw objects archived after their last transform, with the event-time span of those objects. */
  async pendingTransforms(): Promise<{ tenantId: string; propertyId: string; uptoSeq: number; minEventMs: number; maxEventMs: number; spans: [number, number][] }[]> {
    const rows = await this.db('raw_objects as r')
      .leftJoin('pipeline_state as s', 's.property_id', 'r.property_id')
      .whereRaw('r.seq > coalesce(s.transformed_seq, 0)')
      .select('r.tenant_id', 'r.property_id', 'r.seq', 'r.min_event_ms', 'r.max_event_ms');
    const byProperty = new Map<string, { tenantId: string; propertyId: string; uptoSeq: number; minEventMs: number; maxEventMs: number; spans: [number, number][] }>();
    for (const r of rows) {
      const pid = String(r.property_id);
      let p = byProperty.get(pid);
      if (!p) {
        p = { tenantId: r.tenant_id, propertyId: pid, uptoSeq: 0, minEventMs: Infinity, maxEventMs: -Infinity, spans: [] };
        byProperty.set(pid, p);
      }
      p.uptoSeq = Math.max(p.uptoSeq, Number(r.seq));
      p.minEventMs = Math.min(p.minEventMs, Number(r.min_event_ms));
      p.maxEventMs = Math.max(p.maxEventMs, Number(r.max_event_ms));
      p.spans.push([Number(r.min_event_ms), Number(r.max_event_ms)]);
    }
    return [...byProperty.values()];
  }

  async allRawSpans(propertyId: string): Promise<[number, number][]> {
    const rows = await this.db('raw_objects').where({ property_id: propertyId }).select('min_event_ms', 'max_event_ms');
    return rows.map((r) => [Number(r.min_event_ms), Number(r.max_event_ms)]);
  }

  async markTransformed(tenantId: string, propertyId: string, uptoSeq: number, partitions: PartitionEntry[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const p of partitions) {
        await tx.raw(
          `INSERT INTO partitions (tenant_id, property_id, table_name, dt, object_keys, rows, transformed_at)
           VALUES (?, ?, ?, ?, ?, ?, now())
           ON CONFLICT (property_id, table_name, dt) DO UPDATE SET object_keys = EXCLUDED.object_keys,
             rows = EXCLUDED.rows, transformed_at = EXCLUDED.transformed_at`,
          [p.tenantId, p.propertyId, p.table, p.date, JSON.stringify(p.keys), p.rows],
        );
      }
      await tx.raw(
        `INSERT INTO pipeline_state (property_id, tenant_id, transformed_seq, updated_at) VALUES (?, ?, ?, now())
         ON CONFLICT (property_id) DO UPDATE SET transformed_seq = GREATEST(pipeline_state.transformed_seq, EXCLUDED.transformed_seq), updated_at = now()`,
        [propertyId, tenantId, uptoSeq],
      );
    });
  }

  /** Partitions transformed since they were last loaded (or never loaded). */
  async pendingLoads(propertyId?: string): Promise<(PartitionEntry & { transformedAt: Date })[]> {
    const q = this.db('partitions').where((w) => w.whereNull('loaded_at').orWhereRaw('loaded_at < transformed_at'));
    if (propertyId) q.andWhere({ property_id: propertyId });
    const rows = await q.orderBy(['property_id', 'dt', 'table_name']).select();
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      propertyId: String(r.property_id),
      table: r.table_name,
      date: toIsoDate(r.dt),
      keys: typeof r.object_keys === 'string' ? JSON.parse(r.object_keys) : r.object_keys,
      rows: Number(r.rows),
      transformedAt: new Date(r.transformed_at),
    }));
  }

  async markLoaded(p: PartitionEntry, transformedAt: Date, loadedRows: number): Promise<void> {
    await this.db('partitions')
      .where({ property_id: p.propertyId, table_name: p.table, dt: p.date })
      .andWhere('transformed_at', '=', transformedAt)
      .update({ loaded_at: this.db.fn.now(), loaded_rows: loadedRows });
  }

  /** Latest time up to which a property's events are loaded: the "complete up to" of reports. */
  async completeUpTo(propertyId: string): Promise<Date | null> {
    const pending = await this.db('raw_objects as r')
      .leftJoin('pipeline_state as s', 's.property_id', 'r.property_id')
      .where('r.property_id', propertyId)
      .whereRaw('r.seq > coalesce(s.transformed_seq, 0)')
      .min({ t: 'r.archived_at' })
      .first();
    const loaded = await this.db('partitions').where({ property_id: propertyId }).whereNotNull('loaded_at').max({ t: 'loaded_at' }).first();
    if (pending?.t) return new Date(pending.t);
    return loaded?.t ? new Date(loaded.t) : null;
  }
}

function toIsoDate(v: unknown): string {
  if (v instanceof Date) {
    // pg returns DATE as a local-midnight Date; format its calendar fields, not its UTC instant
    const y = v.getFullYear();
    const m = String(v.getMonth() + 1).padStart(2, '0');
    const d = String(v.getDate()).padStart(2, '0');
    return `${y}-${m}-${d}`;
  }
  return String(v).slice(0, 10);
}
