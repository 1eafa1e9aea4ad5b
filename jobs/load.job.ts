import type { PartitionLoad, Warehouse } from '../src/infra/warehouse/warehouse.port.js';
import type { JobContext } from '../src/infra/jobs/job-queue.port.js';
import type { PipelineStateRepository } from './pipeline-state.repository.js';

export interface LoadJobData {
  propertyId?: string;
}

/** Partitions per warehouse transaction: a batched cycle's thousands of small partitions pay a few commits, not one each. */
export const LOAD_BATCH_PARTITIONS = 500;

/**
 * Publishes transformed partitions into the warehouse, each replaced atomically, and records
 * what was loaded (rows, time): the "complete up to" that reports carry comes from here. Where
 * the warehouse loads batches (`loadPartitions`: DuckDB, PostgreSQL) up to
 * `LOAD_BATCH_PARTITIONS` partitions share one transaction and one bookkeeping statement;
 * elsewhere (Redshift) each partition is its own.
 */
export function loadJob(deps: { warehouse: Warehouse; state: PipelineStateRepository }) {
  return async (ctx: JobContext<LoadJobData>) => {
    const pending = await deps.state.pendingLoads(ctx.data.propertyId);
    const wh = deps.warehouse;
    const size = wh.loadPartitions ? LOAD_BATCH_PARTITIONS : 1;
    let rows = 0;
    let done = 0;
    for (let i = 0; i < pending.length && !ctx.signal.aborted; i += size) {
      const batch = pending.slice(i, i + size);
      const loads: PartitionLoad[] = batch.map((p) => ({
        table: p.table,
        partition: { tenantId: p.tenantId, propertyId: p.propertyId, date: p.date },
        objectKeys: p.keys,
      }));
      const r = wh.loadPartitions ? await wh.loadPartitions(loads) : [await wh.loadPartition(loads[0].table, loads[0].partition, [...loads[0].objectKeys])];
      await deps.state.markLoadedMany(batch.map((p, j) => ({ p, transformedAt: p.transformedAt, rows: r[j].rows })));
      rows += r.reduce((n, x) => n + x.rows, 0);
      done += batch.length;
      ctx.progress(done, pending.length, 'partitions');
    }
    return { partitions: done, rows };
  };
}
