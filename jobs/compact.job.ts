import type { JobContext } from '../src/infra/jobs/job-queue.port.js';
import type { ObjectStore } from '../src/infra/object-store/object-store.port.js';
import { isIncremental, MAX_LATENESS_MS, type TransformEngine } from '../src/infra/transform/transform-engine.port.js';
import type { PropertySettings } from '../src/domain/property-settings.js';
import { addDays, localDate } from '../src/domain/time-zone.js';
import type { PipelineStateRepository } from './pipeline-state.repository.js';
import type { PartitionLocks } from './partition-locks.repository.js';

export interface CompactJobData {
  propertyId?: string;
}

/**
 * Merges each closed day's small files (one per incremental cycle) into one sorted file. A day is
 * closed when no event can still be late for it: it ended more than the 72 h lateness (plus a day
 * for sessions crossing midnight) ago, so no cycle or rebuild writes into it any more. Per
 * partition: the engine writes the merged file, the new file list is recorded (the load job then
 * reloads the same rows), and only then are the old files deleted. Idempotent; a run that stops
 * half-way is finished by the next.
 */
export function compactJob(deps: {
  engine: TransformEngine;
  state: PipelineStateRepository;
  store: ObjectStore;
  settings: (propertyId: string) => Promise<PropertySettings | null>;
  now?: () => number;
  /** When set, a partition whose date a replay holds is left for the next run. */
  locks?: PartitionLocks;
}) {
  return async (ctx: JobContext<CompactJobData>) => {
    const engine = deps.engine;
    if (!isIncremental(engine)) return { partitions: 0 };
    const now = (deps.now ?? Date.now)();
    // no zone is more than a day ahead of UTC: a coarse filter, refined per property below
    const candidates = await deps.state.partitionsWithSeveralFiles(new Date(now - MAX_LATENESS_MS).toISOString().slice(0, 10), ctx.data.propertyId);
    let compacted = 0;
    for (const [i, p] of candidates.entries()) {
      if (ctx.signal.aborted) break;
      const settings = await deps.settings(p.propertyId);
      if (!settings) continue;
      if (p.date >= addDays(localDate(now - MAX_LATENESS_MS, settings.timeZone), -1)) continue;
      const run = async () => {
        const r = await engine.compact(settings, p.table, p.date);
        if (!r) return false;
        await deps.state.markTransformed(p.tenantId, p.propertyId, await deps.state.transformedSeq(p.propertyId), [{ ...p, keys: r.keys, rows: r.rows }]);
        await deps.store.delete(r.obsolete);
        return true;
      };
      if (await (deps.locks ? deps.locks.withLockIfFree(p.propertyId, p.date, p.date, run) : run())) compacted++;
      ctx.progress(i + 1, candidates.length);
    }
    return { partitions: compacted };
  };
}
