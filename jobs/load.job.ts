import type { Warehouse } from '../src/infra/warehouse/warehouse.port.js';
import type { JobContext } from '../src/infra/jobs/job-queue.port.js';
import type { PipelineStateRepository } from './pipeline-state.repository.js';

export interface LoadJobData {
  propertyId?: string;
}

/**
 * Publishes transformed partitions into the warehouse, each replaced atomically, and records
 * what was loaded (rows, time): the "complete up to" that reports carry comes from here.
 */
export function loadJob(deps: { warehouse: Warehouse; state: PipelineStateRepository }) {
  return async (ctx: JobContext<LoadJobData>) => {
    const pending = await deps.state.pendingLoads(ctx.data.propertyId);
    let rows = 0;
    for (const [i, p] of pending.entries()) {
      if (ctx.signal.aborted) break;
      const r = await deps.warehouse.loadPartition(p.table, { tenantId: p.tenantId, propertyId: p.propertyId, date: p.date }, p.keys);
      await deps.state.markLoaded(p, p.transformedAt, r.rows);
      rows += r.rows;
      ctx.progress(i + 1, pending.length, 'partitions');
    }
    return { partitions: pending.length, rows };
  };
}
