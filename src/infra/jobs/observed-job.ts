import type { JobContext, JobHandler } from './job-queue.port.js';
import type { Logger } from '../logger.js';
import { metrics } from '../metrics/metrics.js';

/**
 * A job handler that logs each run at info (what ran, for which property and dates, how long, how
 * many events) and records its duration, whoever runs it: the queue, the CLI's "run now", or the
 * pipeline job calling transform and load.
 */
export function observedJob<D, R>(job: string, handler: JobHandler<D, R>, log: Logger): JobHandler<D, R> {
  return async (ctx: JobContext<D>) => {
    const started = performance.now();
    try {
      const result = await handler(ctx);
      const ms = Math.round(performance.now() - started);
      metrics.jobRun(job, 'ok', ms / 1000);
      const summary = summarise(result);
      if (job === 'transform' && summary.events) metrics.transformEvents(summary.events);
      log.info({ job, data: ctx.data, ms, ...summary }, `job ${job} ran`);
      return result;
    } catch (err) {
      const ms = Math.round(performance.now() - started);
      metrics.jobRun(job, 'failed', ms / 1000);
      log.error({ job, data: ctx.data, ms, err }, `job ${job} failed`);
      throw err;
    }
  };
}

interface PropertyRun {
  propertyId: string;
  dates?: string[];
  eventsWritten?: number;
}

/** Per property its dates (first..last and how many) and events; the totals; load's partitions and rows. */
export function summarise(result: unknown): {
  properties?: { propertyId: string; dates: string; days: number; events: number }[];
  events?: number;
  partitions?: number;
  rows?: number;
} {
  if (!result || typeof result !== 'object') return {};
  const r = result as { properties?: PropertyRun[]; partitions?: number; rows?: number; transform?: unknown; load?: unknown };
  if (r.transform !== undefined || r.load !== undefined) return { ...summarise(r.transform), ...summarise(r.load) };
  const out: ReturnType<typeof summarise> = {};
  if (Array.isArray(r.properties)) {
    out.properties = r.properties.map((p) => {
      const dates = p.dates ?? [];
      return {
        propertyId: p.propertyId,
        dates: dates.length > 1 ? `${dates[0]}..${dates[dates.length - 1]}` : (dates[0] ?? ''),
        days: dates.length,
        events: p.eventsWritten ?? 0,
      };
    });
    out.events = out.properties.reduce((n, p) => n + p.events, 0);
  }
  if (typeof r.partitions === 'number') out.partitions = r.partitions;
  if (typeof r.rows === 'number') out.rows = r.rows;
  return out;
}
