import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus metric Tally exports, registered here and nowhere else (README "Health, metrics
 * and logs" lists them). Other modules only increment through the functions below. The ingest
 * counters add to plain numbers (two Map lookups and an add) that prom-client reads when scraped:
 * its own inc() validates and hashes the label set on every call, ~5x the cost.
 * One registry per process: several Tally instances in one process (tests) share it.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

function cached<C>(make: (a: string, b: string) => C): (a: string, b: string) => C {
  const byA = new Map<string, Map<string, C>>();
  return (a, b) => {
    let byB = byA.get(a);
    if (!byB) byA.set(a, (byB = new Map()));
    let c = byB.get(b);
    if (!c) byB.set(b, (c = make(a, b)));
    return c;
  };
}

/** A two-label counter whose hot-path add touches a plain cell; the totals are handed to prom-client at scrape. */
function accumulatedCounter(name: string, help: string, labelNames: [string, string]): (a: string, b: string) => { n: number } {
  const cells: { labels: Record<string, string>; n: number }[] = [];
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of cells) if (c.n > 0) this.inc(c.labels, c.n);
    },
  });
  return cached((a, b) => {
    const cell = { labels: { [labelNames[0]]: a, [labelNames[1]]: b }, n: 0 };
    cells.push(cell);
    return cell;
  });
}

/**
 * A one-label histogram for the hot path: observe() is a Map lookup, a short bucket scan and three
 * adds (prom-client's Histogram validates and hashes labels per call, ~1 µs); the registry reads
 * the cells through prom-client's public metric-object interface (`get()`), in the same text format.
 */
function accumulatedHistogram(name: string, help: string, labelName: string, bounds: number[]): (value: string) => { observe(seconds: number): void } {
  const cells: { label: string; buckets: number[]; sum: number; count: number }[] = [];
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    collect: () => undefined,
    get: async () => ({
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      values: cells.flatMap((c) => {
        let acc = 0;
        return [
          ...bounds.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le, [labelName]: c.label }, value: (acc += c.buckets[i]) })),
          { metricName: `${name}_bucket`, labels: { le: '+Inf', [labelName]: c.label }, value: c.count },
          { metricName: `${name}_sum`, labels: { [labelName]: c.label }, value: c.sum },
          { metricName: `${name}_count`, labels: { [labelName]: c.label }, value: c.count },
        ];
      }),
    }),
  };
  registry.registerMetric(metric as unknown as Histogram);
  const byLabel = new Map<string, { observe(seconds: number): void }>();
  return (label) => {
    let h = byLabel.get(label);
    if (!h) {
      const cell = { label, buckets: bounds.map(() => 0), sum: 0, count: 0 };
      cells.push(cell);
      h = {
        observe(seconds) {
          let i = 0;
          while (i < bounds.length && seconds > bounds[i]) i++;
          if (i < bounds.length) cell.buckets[i]++;
          cell.sum += seconds;
          cell.count++;
        },
      };
      byLabel.set(label, h);
    }
    return h;
  };
}

const appendHistogram = accumulatedHistogram(
  'tally_event_log_append_seconds',
  'Time from append to durable (fsync or all in-sync replicas) per ingest request and output, as the client waits for it',
  'output',
  [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
);

const requestCell = accumulatedCounter('tally_ingest_requests_total', 'Ingest HTTP requests by protocol and response status', ['protocol', 'status']);
const eventCell = accumulatedCounter(
  'tally_ingest_events_total',
  'Events made durable by protocol and outcome (accepted: raw-events; dead_lettered: dead-letter output)',
  ['protocol', 'outcome'],
);
const deadCell = accumulatedCounter('tally_dead_letters_total', 'Refused events written to the dead-letter output, by protocol and reason', [
  'protocol',
  'reason',
]);
const jobSeconds = new Histogram({
  name: 'tally_job_duration_seconds',
  help: 'Job runs (transform, load, pipeline) by job and outcome',
  labelNames: ['job', 'outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
  registers: [registry],
});
const jobEvents = new Counter({
  name: 'tally_transform_events_total',
  help: 'Events written by transform runs',
  registers: [registry],
});
const reportSeconds = new Histogram({
  name: 'tally_report_duration_seconds',
  help: 'Report API requests by method (runReport, batchRunReports, checkCompatibility, metadata) and status',
  labelNames: ['method', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});
const reportAnswers = new Counter({
  name: 'tally_report_answers_total',
  help: 'Reports answered, by the tables that answered their rows (rollup, detail, mixed) and whether the result cache did',
  labelNames: ['path', 'cached'] as const,
  registers: [registry],
});
const lifecycleRecords = new Counter({
  name: 'tally_lifecycle_records_total',
  help: 'Records the data lifecycle touched: by operation (delete, retention, purge, import, export) and zone or outcome (raw, dead_letters, transformed, warehouse, objects, accepted, refused, rows)',
  labelNames: ['operation', 'zone'] as const,
  registers: [registry],
});
const replayRuns = new Counter({
  name: 'tally_support_replays_total',
  help: 'Support replays finished, by mode (dry_run, real) and outcome (succeeded, failed)',
  labelNames: ['mode', 'outcome'] as const,
  registers: [registry],
});
const replayEvents = new Counter({
  name: 'tally_support_replay_events_total',
  help: 'Events written by support replays (staged or swapped in), by mode',
  labelNames: ['mode'] as const,
  registers: [registry],
});
const redriveLetters = new Counter({
  name: 'tally_dead_letter_redrives_total',
  help: 'Dead letters sent through a redrive, by outcome (appended, still_refused) and reason they were refused under',
  labelNames: ['outcome', 'reason'] as const,
  registers: [registry],
});

/** Values read from the system when Prometheus scrapes (a role sets the sources it has; null unsets). */
type Source<T> = (() => Promise<T>) | null;
const sources: { archiverLag: Source<Record<string, number>>; completeUpTo: Source<Date | null> } = { archiverLag: null, completeUpTo: null };

new Gauge({
  name: 'tally_archiver_lag_records',
  help: 'Records appended to the event log but not yet archived to the raw zone, per output (worker role)',
  labelNames: ['output'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    const read = sources.archiverLag;
    if (!read) return;
    for (const [output, lag] of Object.entries(await read())) this.set({ output }, lag);
  },
});
new Gauge({
  name: 'tally_complete_up_to_age_seconds',
  help: 'Age of the oldest "complete up to" over all properties: how far behind the freshest reports can be (worker and api roles)',
  registers: [registry],
  async collect() {
    this.reset();
    const read = sources.completeUpTo;
    if (!read) return;
    const at = await read();
    if (at) this.set(Math.max(0, (Date.now() - at.getTime()) / 1000));
  },
});

const billingWebhooks = new Counter({
  name: 'tally_billing_webhook_events_total',
  help: 'Stripe webhook events received, by type and outcome (applied, duplicate, stale, unknown_organization, ignored)',
  labelNames: ['type', 'outcome'],
  registers: [registry],
});
const billingMeter = new Counter({
  name: 'tally_billing_meter_events_total',
  help: 'Hourly usage meter events sent to Stripe, by outcome (sent, failed)',
  labelNames: ['outcome'],
  registers: [registry],
});
const billingNotices = new Counter({
  name: 'tally_billing_quota_notices_total',
  help: 'Quota e-mails sent to owners, by threshold (80, 100, cap)',
  labelNames: ['threshold'],
  registers: [registry],
});

const reportChild = cached((method, status) => reportSeconds.labels(method, status));
const statusText: string[] = [];
const status = (code: number) => statusText[code] ?? (statusText[code] = String(code));

export const metrics = {
  ingestRequest(protocol: string, httpStatus: number): void {
    requestCell(protocol, status(httpStatus)).n++;
  },
  ingestEvents(protocol: string, outcome: 'accepted' | 'dead_lettered', n: number): void {
    eventCell(protocol, outcome).n += n;
  },
  deadLetter(protocol: string, reason: string): void {
    deadCell(protocol, reason).n++;
  },
  appendDone(output: string, seconds: number): void {
    appendHistogram(output).observe(seconds);
  },
  jobRun(job: string, outcome: 'ok' | 'failed', seconds: number): void {
    jobSeconds.observe({ job, outcome }, seconds);
  },
  transformEvents(n: number): void {
    if (n > 0) jobEvents.inc(n);
  },
  report(method: string, httpStatus: number, seconds: number): void {
    reportChild(method, status(httpStatus)).observe(seconds);
  },
  reportAnswer(path: 'rollup' | 'detail' | 'mixed', cached: boolean): void {
    reportAnswers.inc({ path, cached: cached ? 'true' : 'false' });
  },
  lifecycleRecords(operation: 'delete' | 'retention' | 'purge' | 'import' | 'export', zone: string, n: number): void {
    if (n > 0) lifecycleRecords.inc({ operation, zone }, n);
  },
  billingWebhook(type: string, outcome: string): void {
    billingWebhooks.inc({ type, outcome });
  },
  billingMeterEvent(outcome: 'sent' | 'failed'): void {
    billingMeter.inc({ outcome });
  },
  billingQuotaNotice(threshold: string): void {
    billingNotices.inc({ threshold });
  },
  replay(mode: 'dry_run' | 'real', outcome: 'succeeded' | 'failed', events: number): void {
    replayRuns.inc({ mode, outcome });
    if (events > 0) replayEvents.inc({ mode }, events);
  },
  redrive(outcome: 'appended' | 'still_refused', reason: string, n: number): void {
    if (n > 0) redriveLetters.inc({ outcome, reason }, n);
  },
  /** Sets where archiver lag and "complete up to" are read from at scrape time; returns the unset. */
  readFrom(s: Partial<typeof sources>): () => void {
    Object.assign(sources, s);
    return () => {
      for (const k of Object.keys(s) as (keyof typeof sources)[]) if (sources[k] === s[k]) sources[k] = null;
    };
  },
};

export type Exposition = { contentType: string; body: string };

let exposition = async (): Promise<Exposition> => ({ contentType: registry.contentType, body: await registry.metrics() });

/**
 * Replaces where GET /metrics reads from. A collector worker of `--workers N` answers with the sum
 * over every worker, which its cluster primary collects (`src/server/collector-cluster.ts`):
 * otherwise a scrape would see only the worker that took the connection.
 */
export function exposeFrom(source: () => Promise<Exposition>): void {
  exposition = source;
}

/** The text exposition, for GET /metrics. */
export function scrape(): Promise<Exposition> {
  return exposition();
}
