import { type IncrementalTransformEngine, isIncremental, type TransformEngine, type TransformResult } from '../src/infra/transform/transform-engine.port.js';
import type { JobContext } from '../src/infra/jobs/job-queue.port.js';
import type { PropertySettings } from '../src/domain/property-settings.js';
import { addDays, datesBetween, localDate } from '../src/domain/time-zone.js';
import type { PipelineStateRepository } from './pipeline-state.repository.js';
import { randomUUID } from 'node:crypto';
import { type DateRangeLock, OPEN_END, type PartitionLocks } from './partition-locks.repository.js';

export interface TransformJobDeps {
  engine: TransformEngine;
  state: PipelineStateRepository;
  settings: (propertyId: string) => Promise<PropertySettings | null>;
  /** When set, a property whose dates a replay holds is skipped this run (its watermark stays). */
  locks?: PartitionLocks;
  /**
   * The incremental engine's late allowance (TALLY_TRANSFORM_LATE_ALLOWANCE_MS). When set, a
   * property with open sessions and nothing new is cycled once the clock has passed its last
   * event plus the session timeout plus this: its sessions close (a backfill's, a quiet site's).
   */
  lateAllowanceMs?: number;
  /** The wall clock (tests); default Date.now. */
  clock?: () => number;
}

export interface TransformJobData {
  /** Only this property; all with new raw objects when absent. */
  propertyId?: string;
  /** Re-transform every date with raw data (of this property, or of every property), not only the changed ones. */
  full?: boolean;
}

/**
 * Finds properties with raw objects archived since their last transform (the per-property
 * watermark `transformed_seq`). An incremental engine (DuckDB) runs one cycle for all of them
 * together over just those objects plus its carried open-session state (a property that must
 * rebuild runs alone); `full` rebuilds, one property at a time, every date the property has raw
 * data for. Another engine (Spark) re-transforms the local dates those objects' events touch (and
 * the day after each, which a session crossing midnight may reach into), each partition whole.
 */
export function transformJob(deps: TransformJobDeps) {
  return async (ctx: JobContext<TransformJobData>) => {
    let pending = await deps.state.pendingTransforms();
    if (ctx.data.propertyId) pending = pending.filter((p) => p.propertyId === ctx.data.propertyId);
    if (ctx.data.full) {
      // every property with raw data, also those with nothing new since their last transform
      const ids = ctx.data.propertyId ? [ctx.data.propertyId] : await deps.state.propertiesWithRawData();
      for (const id of ids) {
        if (pending.some((p) => p.propertyId === id)) continue;
        const s = await deps.settings(id);
        if (!s) continue;
        // nothing new: the watermark stays where it is
        const seq = await deps.state.transformedSeq(s.propertyId);
        pending.push({ tenantId: s.tenantId, propertyId: s.propertyId, afterSeq: seq, uptoSeq: seq, minEventMs: 0, maxEventMs: 0, spans: [] });
      }
    }
    const nowMs = (deps.clock ?? Date.now)();
    // open sessions that no new record will extend: one cycle with nothing new closes them
    const quiet =
      isIncremental(deps.engine) && !ctx.data.full ? await quietOpenProperties(deps, nowMs, pending, ctx.data.propertyId) : new Map<string, QuietProperty>();
    for (const q of quiet.values()) pending.push(q.pending);
    // the dates first, so progress counts them (a real unit) from the start
    const work: { p: (typeof pending)[number]; settings: PropertySettings; dates: string[] }[] = [];
    for (const p of pending) {
      const settings = await deps.settings(p.propertyId);
      if (!settings) continue;
      const spans = ctx.data.full ? await deps.state.allRawSpans(p.propertyId) : p.spans;
      const dates = quiet.get(p.propertyId)?.dates ?? touchedDates(spans, settings.timeZone);
      if (dates.length) work.push({ p, settings, dates });
    }
    const total = work.reduce((n, w) => n + w.dates.length, 0);
    const results: { propertyId: string; dates: string[]; eventsWritten: number }[] = [];
    const skipped: string[] = [];
    let done = 0;
    if (total) ctx.progress(0, total, 'dates');
    const record = async (w: (typeof work)[number], r: TransformResult) => {
      const { p } = w;
      await deps.state.markTransformed(
        p.tenantId,
        p.propertyId,
        p.uptoSeq,
        r.partitions.map((x) => ({ tenantId: p.tenantId, propertyId: p.propertyId, table: x.table, date: x.date, keys: x.keys, rows: x.rows })),
      );
      results.push({ propertyId: p.propertyId, dates: w.dates, eventsWritten: r.eventsWritten });
      done += w.dates.length;
      ctx.progress(done, total, 'dates');
    };
    const engine = deps.engine;
    if (isIncremental(engine) && !ctx.data.full) {
      // every pending property in one cycle: the run's fixed cost is paid once, not per property
      for (let i = 0; i < work.length && !ctx.signal.aborted; i += BATCH_PROPERTIES) {
        // a property whose dates a replay holds is skipped this run (its watermark stays); a cycle may
        // rebuild from the day before its earliest date to the last: lock all of that while it runs
        const locks = new Map<string, DateRangeLock>();
        const holder = `job:${randomUUID()}`;
        const batch: typeof work = [];
        for (const w of work.slice(i, i + BATCH_PROPERTIES)) {
          const lock = deps.locks ? await deps.locks.tryAcquire(w.p.propertyId, addDays(w.dates[0], -1), OPEN_END, holder) : null;
          if (deps.locks && !lock) skipped.push(w.p.propertyId);
          else batch.push(w);
          if (lock) locks.set(w.p.propertyId, lock);
        }
        try {
          if (batch.length) await cycleBatch(engine, batch);
        } finally {
          for (const lock of locks.values()) await lock.release();
        }
      }
      return skipped.length ? { properties: results, skippedLocked: skipped } : { properties: results };
    }
    async function cycleBatch(incremental: IncrementalTransformEngine, batch: typeof work): Promise<void> {
      // unique per cycle, ordered by the watermark (seqs only grow)
      const cycleId = `${String(Math.max(...batch.map((w) => w.p.uptoSeq))).padStart(12, '0')}-${Date.now().toString(36)}`;
      const requests = await Promise.all(
        batch.map(async ({ p, settings }) => ({
          settings,
          newKeys: await deps.state.rawObjectKeys(p.propertyId, { afterSeq: p.afterSeq, uptoSeq: p.uptoSeq }),
          earlierKeys: (fromEventMs: number) => deps.state.rawObjectKeys(p.propertyId, { afterSeq: 0, uptoSeq: p.afterSeq, fromEventMs }),
          cycleId,
          nowMs,
        })),
      );
      const r = await incremental.cycleMany(requests);
      for (const [j, w] of batch.entries()) await record(w, r[j]);
    }
    for (const w of work) {
      if (ctx.signal.aborted) break;
      const { p, settings, dates } = w;
      const run = () => transformOne(deps, ctx.data, p, settings, dates, nowMs);
      // a cycle may rebuild from the day before its earliest date to the last: lock all of that
      const r = deps.locks ? await deps.locks.withLockIfFree(p.propertyId, addDays(dates[0], -1), OPEN_END, run) : await run();
      done += dates.length;
      ctx.progress(done, total, 'dates');
      if (r) results.push({ propertyId: p.propertyId, dates, eventsWritten: r.eventsWritten });
      else skipped.push(p.propertyId);
    }
    return skipped.length ? { properties: results, skippedLocked: skipped } : { properties: results };
  };
}

type Pending = Awaited<ReturnType<PipelineStateRepository['pendingTransforms']>>[number];
interface QuietProperty {
  pending: Pending;
  /** Its dates holding open sessions. */
  dates: string[];
}

/**
 * Properties with open sessions and no new raw objects whose every session the clock has closed:
 * their last event plus the session timeout plus the late allowance is past. (Earlier ones of
 * their sessions close with the last one: until then nothing is cycled for nothing.)
 */
async function quietOpenProperties(deps: TransformJobDeps, nowMs: number, pending: Pending[], only?: string): Promise<Map<string, QuietProperty>> {
  const out = new Map<string, QuietProperty>();
  if (deps.lateAllowanceMs === undefined) return out;
  for (const q of await deps.state.propertiesWithOpenSessions()) {
    if ((only && q.propertyId !== only) || pending.some((p) => p.propertyId === q.propertyId)) continue;
    const s = await deps.settings(q.propertyId);
    if (!s || nowMs - deps.lateAllowanceMs <= q.maxEventMs + s.sessionTimeoutMinutes * 60_000) continue;
    // nothing new: the watermark stays where it is
    const seq = await deps.state.transformedSeq(q.propertyId);
    out.set(q.propertyId, {
      pending: { tenantId: q.tenantId, propertyId: q.propertyId, afterSeq: seq, uptoSeq: seq, minEventMs: 0, maxEventMs: 0, spans: [] },
      dates: q.dates,
    });
  }
  return out;
}

/** Properties per cycle run: bounds one run's memory and statement size when thousands are pending. */
const BATCH_PROPERTIES = 2_000;

async function transformOne(
  deps: TransformJobDeps,
  data: TransformJobData,
  p: Pending,
  settings: PropertySettings,
  dates: string[],
  nowMs: number,
): Promise<{ eventsWritten: number }> {
  const engine = deps.engine;
  const r = isIncremental(engine)
    ? await engine.cycle({
        settings,
        newKeys: await deps.state.rawObjectKeys(p.propertyId, { afterSeq: p.afterSeq, uptoSeq: p.uptoSeq }),
        earlierKeys: (fromEventMs) => deps.state.rawObjectKeys(p.propertyId, { afterSeq: 0, uptoSeq: p.afterSeq, fromEventMs }),
        // unique per cycle, ordered by the watermark
        cycleId: `${String(p.uptoSeq).padStart(12, '0')}-${Date.now().toString(36)}`,
        rebuildFrom: data.full ? dates[0] : undefined,
        nowMs,
      })
    : await engine.transform({ settings, dates });
  await deps.state.markTransformed(
    p.tenantId,
    p.propertyId,
    p.uptoSeq,
    r.partitions.map((w) => ({ tenantId: p.tenantId, propertyId: p.propertyId, table: w.table, date: w.date, keys: w.keys, rows: w.rows })),
  );
  return { eventsWritten: r.eventsWritten };
}

/** Local dates covered by the event-time spans, each extended by the following day. */
export function touchedDates(spans: [number, number][], timeZone: string): string[] {
  const set = new Set<string>();
  for (const [min, max] of spans) {
    const from = localDate(min, timeZone);
    const to = addDays(localDate(max, timeZone), 1);
    for (const d of datesBetween(from, to)) set.add(d);
  }
  return [...set].sort();
}
