import type { Db } from '../src/infra/metadata/db.js';
import type { TransformedTable } from '../src/domain/transformed-schema.js';

/** Rows per INSERT of the raw-object manifest (6 parameters each, far under PostgreSQL's 65,535). */
const MANIFEST_ROWS_PER_INSERT = 500;

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
  table: TransformedTable;
  date: string;
  keys: string[];
  rows: number;
}

export interface PendingTransform {
  tenantId: string;
  propertyId: string;
  /** The watermark: objects up to this seq were transformed by earlier cycles. */
  afterSeq: number;
  uptoSeq: number;
  minEventMs: number;
  maxEventMs: number;
  spans: [number, number][];
}

export class PipelineStateRepository {
  constructor(private readonly db: Db) {}

  async recordRawObjects(entries: RawObjectEntry[]): Promise<void> {
    if (!entries.length) return;
    await this.db.transaction(async (tx) => {
      // Writers one at a time, so seq order is commit order: a reader that sees seq N has seen every
      // seq below it. Otherwise a transform could take a later batch's seq as its watermark while
      // an earlier one is uncommitted, and skip it for good (and "complete up to" would be wrong).
      await tx.raw('LOCK TABLE raw_objects IN EXCLUSIVE MODE');
      // a few statements of many rows, not one round trip per object (a batch may write hundreds)
      for (let i = 0; i < entries.length; i += MANIFEST_ROWS_PER_INSERT) {
        const chunk = entries.slice(i, i + MANIFEST_ROWS_PER_INSERT);
        await tx.raw(
          `INSERT INTO raw_objects (key, tenant_id, property_id, records, min_event_ms, max_event_ms, seq)
           VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, nextval('raw_object_seq'))").join(', ')}
           ON CONFLICT (key) DO UPDATE SET records = EXCLUDED.records, min_event_ms = EXCLUDED.min_event_ms,
             max_event_ms = EXCLUDED.max_event_ms, seq = EXCLUDED.seq, archived_at = now()`,
          chunk.flatMap((e) => [e.key, e.tenantId, e.propertyId, e.records, e.minEventMs, e.maxEventMs]),
        );
      }
    });
  }

  async forgetRawObjects(keys: string[]): Promise<void> {
    if (keys.length) await this.db('raw_objects').whereIn('key', keys).delete();
  }

  /**
   * Properties with raw objects archived after their last transform (`afterSeq`, the watermark),
   * with the event-time span of those objects.
   */
  async pendingTransforms(): Promise<PendingTransform[]> {
    const rows = await this.db('raw_objects as r')
      .leftJoin('pipeline_state as s', 's.property_id', 'r.property_id')
      .whereRaw('r.seq > coalesce(s.transformed_seq, 0)')
      .select('r.tenant_id', 'r.property_id', 'r.seq', 'r.min_event_ms', 'r.max_event_ms', this.db.raw('coalesce(s.transformed_seq, 0) AS after_seq'));
    const byProperty = new Map<string, PendingTransform>();
    for (const r of rows) {
      const pid = String(r.property_id);
      let p = byProperty.get(pid);
      if (!p) {
        p = { tenantId: r.tenant_id, propertyId: pid, afterSeq: Number(r.after_seq), uptoSeq: 0, minEventMs: Infinity, maxEventMs: -Infinity, spans: [] };
        byProperty.set(pid, p);
      }
      p.uptoSeq = Math.max(p.uptoSeq, Number(r.seq));
      p.minEventMs = Math.min(p.minEventMs, Number(r.min_event_ms));
      p.maxEventMs = Math.max(p.maxEventMs, Number(r.max_event_ms));
      p.spans.push([Number(r.min_event_ms), Number(r.max_event_ms)]);
    }
    return [...byProperty.values()];
  }

  /**
   * Properties whose transformed partitions hold open sessions (an `open.parquet` file), with
   * those dates and the latest event time of their raw objects.
   */
  async propertiesWithOpenSessions() {
    const rows = await this.db('partitions').whereRaw("object_keys::text LIKE '%/open.parquet%'").select('tenant_id', 'property_id', 'dt').orderBy('dt');
    type Open = { tenantId: string; propertyId: string; dates: string[]; maxEventMs: number };
    const byProperty = new Map<string, Open>();
    for (const r of rows) {
      const pid = String(r.property_id);
      const p: Open = byProperty.get(pid) ?? { tenantId: String(r.tenant_id), propertyId: pid, dates: [], maxEventMs: 0 };
      const date = toIsoDate(r.dt);
      if (!p.dates.includes(date)) p.dates.push(date);
      byProperty.set(pid, p);
    }
    for (const p of byProperty.values()) {
      const r = await this.db('raw_objects').where({ property_id: p.propertyId }).max({ m: 'max_event_ms' }).first();
      p.maxEventMs = Number(r?.m ?? 0);
    }
    return [...byProperty.values()];
  }

  /** Every property that has raw objects. */
  async propertiesWithRawData(): Promise<string[]> {
    const rows = await this.db('raw_objects').distinct('property_id').orderBy('property_id');
    return rows.map((r) => String(r.property_id));
  }

  /**
   * Keys of a property's raw objects with afterSeq < seq <= uptoSeq (in seq order), only those
   * whose events reach `fromEventMs` or later when given.
   */
  async rawObjectKeys(propertyId: string, p: { afterSeq: number; uptoSeq: number; fromEventMs?: number }): Promise<string[]> {
    const q = this.db('raw_objects').where({ property_id: propertyId }).andWhere('seq', '>', p.afterSeq).andWhere('seq', '<=', p.uptoSeq);
    if (p.fromEventMs !== undefined) q.andWhere('max_event_ms', '>=', p.fromEventMs);
    return (await q.orderBy('seq').select('key')).map((r) => String(r.key));
  }

  /** The property's watermark: raw objects up to this sequence number are transformed. */
  async transformedSeq(propertyId: string): Promise<number> {
    const r = await this.db('pipeline_state').where({ property_id: propertyId }).select('transformed_seq').first();
    return Number(r?.transformed_seq ?? 0);
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

  /** Partitions before `beforeDate` made of more than one file (compaction candidates). */
  async partitionsWithSeveralFiles(beforeDate: string, propertyId?: string): Promise<PartitionEntry[]> {
    const q = this.db('partitions').where('dt', '<', beforeDate).andWhereRaw('jsonb_array_length(object_keys) > 1');
    if (propertyId) q.andWhere({ property_id: propertyId });
    return (await q.orderBy(['property_id', 'dt', 'table_name']).select()).map(toPartitionEntry);
  }

  /** A property's recorded partitions from one local date to another (inclusive), every table. */
  async partitionsBetween(propertyId: string, from: string, to: string): Promise<PartitionEntry[]> {
    const rows = await this.db('partitions')
      .where({ property_id: propertyId })
      .andWhere('dt', '>=', from)
      .andWhere('dt', '<=', to)
      .orderBy(['dt', 'table_name'])
      .select();
    return rows.map(toPartitionEntry);
  }

  /** Partitions transformed since they were last loaded (or never loaded). */
  async pendingLoads(propertyId?: string): Promise<(PartitionEntry & { transformedAt: Date })[]> {
    const q = this.db('partitions').where((w) => w.whereNull('loaded_at').orWhereRaw('loaded_at < transformed_at'));
    if (propertyId) q.andWhere({ property_id: propertyId });
    const rows = await q.orderBy(['property_id', 'dt', 'table_name']).select();
    return rows.map((r) => ({ ...toPartitionEntry(r), transformedAt: new Date(r.transformed_at) }));
  }

  async markLoaded(p: PartitionEntry, transformedAt: Date, loadedRows: number): Promise<void> {
    await this.markLoadedMany([{ p, transformedAt, rows: loadedRows }]);
  }

  /**
   * Records a batch of loads in one statement; a partition transformed again since it was read
   * (another `transformed_at`) stays pending.
   */
  async markLoadedMany(loads: readonly { p: PartitionEntry; transformedAt: Date; rows: number }[]): Promise<void> {
    for (let i = 0; i < loads.length; i += 1_000) {
      const chunk = loads.slice(i, i + 1_000);
      await this.db.raw(
        `UPDATE partitions x SET loaded_at = now(), loaded_rows = v.n
           FROM (VALUES ${chunk.map(() => '(CAST(? AS bigint), CAST(? AS text), CAST(? AS date), CAST(? AS timestamptz), CAST(? AS bigint))').join(', ')})
             AS v(property_id, table_name, dt, transformed_at, n)
          WHERE x.property_id = v.property_id AND x.table_name = v.table_name AND x.dt = v.dt
            -- PostgreSQL keeps microseconds; the Date read back by pendingLoads has milliseconds
            AND date_trunc('milliseconds', x.transformed_at) = v.transformed_at`,
        chunk.flatMap((l) => [l.p.propertyId, l.p.table, l.p.date, l.transformedAt, l.rows]),
      );
    }
  }

  /** The highest raw object sequence number recorded so far (0 when none). */
  async maxRawSeq(): Promise<number> {
    const r = await this.db('raw_objects').max({ s: 'seq' }).first();
    return Number(r?.s ?? 0);
  }

  /**
   * Records that every event acknowledged before `mark` is loaded, for each property (or only
   * `propertyId`) with nothing pending: no raw object up to `uptoSeq` left untransformed and no
   * partition transformed but not loaded. The caller samples `mark`, then waits for the archiver
   * to reach the log's end, then reads `uptoSeq = maxRawSeq()`, then runs transform and load.
   * Never moves a property's timestamp back.
   */
  async markComplete(mark: Date, uptoSeq: number, propertyId?: string): Promise<void> {
    await this.db.raw(
      `INSERT INTO pipeline_state (property_id, tenant_id, complete_up_to, updated_at)
       SELECT p.id, p.organization_id, ?, now() FROM properties p
        WHERE (CAST(? AS bigint) IS NULL OR p.id = CAST(? AS bigint))
          AND NOT EXISTS (SELECT 1 FROM raw_objects r WHERE r.property_id = p.id AND r.seq <= ?
                AND r.seq > coalesce((SELECT s.transformed_seq FROM pipeline_state s WHERE s.property_id = p.id), 0))
          AND NOT EXISTS (SELECT 1 FROM partitions x WHERE x.property_id = p.id AND (x.loaded_at IS NULL OR x.loaded_at < x.transformed_at))
       ON CONFLICT (property_id) DO UPDATE SET complete_up_to = GREATEST(pipeline_state.complete_up_to, EXCLUDED.complete_up_to)`,
      [mark.toISOString(), propertyId ?? null, propertyId ?? null, uptoSeq],
    );
  }

  /**
   * The "complete up to" of reports: every event of the property acknowledged before this instant
   * is in the warehouse: the later of its last `markComplete` and its creation (nothing can have
   * been acknowledged before that); null for an unknown property.
   */
  async completeUpTo(propertyId: string): Promise<Date | null> {
    if (!/^\d{1,18}$/.test(propertyId)) return null;
    const r = await this.db('properties as p')
      .leftJoin('pipeline_state as s', 's.property_id', 'p.id')
      .where('p.id', propertyId)
      .select('s.complete_up_to', 'p.created_at')
      .first();
    if (!r) return null;
    const created = new Date(r.created_at).getTime();
    return new Date(r.complete_up_to ? Math.max(new Date(r.complete_up_to).getTime(), created) : created);
  }

  /**
   * The property's load version: its latest partition load into the warehouse (`loaded_at` as
   * PostgreSQL's text, microseconds kept) and how many partitions are loaded; null before any. The
   * report result cache keys on it beside the "complete up to" mark, so a reload that does not
   * move the mark (a support replay, late data, a deletion's rewrite) or a partition forgotten by
   * retention still makes every later report miss, in every api process.
   */
  async loadVersion(propertyId: string): Promise<string | null> {
    if (!/^\d{1,18}$/.test(propertyId)) return null;
    const r = await this.db('partitions')
      .where({ property_id: propertyId })
      .first(this.db.raw('CAST(max(loaded_at) AS text) AS at'), this.db.raw('count(loaded_at) AS n'));
    return r?.at ? `${r.at}/${Number(r.n)}` : null;
  }

  /** The `fx-rates` job replaced the warehouse's currency rates (one row, overwritten). */
  async ratesRefreshed(r: { rates: number; lastPublished: string | null }): Promise<void> {
    await this.db.raw(
      `INSERT INTO fx_rates_refresh (id, refreshed_at, last_published, rates) VALUES (1, clock_timestamp(), ?, ?)
       ON CONFLICT (id) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at, last_published = EXCLUDED.last_published, rates = EXCLUDED.rates`,
      [r.lastPublished, r.rates],
    );
  }

  /**
   * The rates version: when the warehouse's currency rates were last replaced (PostgreSQL's text,
   * microseconds kept); null while it holds the bundled snapshot. The report result cache keys
   * statements that convert money on it, in every api process.
   */
  async ratesVersion(): Promise<string | null> {
    const r = await this.db('fx_rates_refresh').where({ id: 1 }).first(this.db.raw('CAST(refreshed_at AS text) AS at'));
    return r?.at ?? null;
  }

  /** The oldest "complete up to" over every property (how stale the stalest reports can be); null without properties. */
  async oldestCompleteUpTo(): Promise<Date | null> {
    const r = await this.db('properties as p')
      .leftJoin('pipeline_state as s', 's.property_id', 'p.id')
      .min({ at: this.db.raw('greatest(s.complete_up_to, p.created_at)') })
      .first();
    return r?.at ? new Date(r.at) : null;
  }
}

function toPartitionEntry(r: Record<string, any>): PartitionEntry {
  return {
    tenantId: r.tenant_id,
    propertyId: String(r.property_id),
    table: r.table_name,
    date: toIsoDate(r.dt),
    keys: typeof r.object_keys === 'string' ? JSON.parse(r.object_keys) : r.object_keys,
    rows: Number(r.rows),
  };
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
