import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus metric Tally exports, registered here and nowhere else (README "Metrics" lists
 * them). Other modules only increment through the functions below, which keep one child per label
 * set so the collector's hot path does two Map lookups and an add, not a label hash per request.
 * One registry per process: several Tally instances in one process (tests) share it.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const ingestRequests = new Counter({
  name: 'tally_ingest_requests_total',
  help: 'Ingest HTTP requests by protocol and response status',
  labelNames: ['protocol', 'status'] as const,
  registers: [registry],
});
const ingestEvents = new Counter({
  name: 'tally_ingest_events_total',
  help: 'Events made durable by protocol and outcome (accepted: raw-events; dead_lettered: dead-letter output)',
  labelNames: ['protocol', 'outcome'] as const,
  registers: [registry],
});
const deadLetters = new Counter({
  name: 'tally_dead_letters_total',
  help: 'Refused events written to the dead-letter output, by protocol and reason',
  labelNames: ['protocol', 'reason'] as const,
  registers: [registry],
});
const appendSeconds = new Histogram({
  name: 'tally_event_log_append_seconds',
  help: 'Time from append to durable (fsync or all in-sync replicas) per ingest request and output, as the client waits for it',
  labelNames: ['output'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});
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
const requestChild = cached((protocol, status) => ingestRequests.labels(protocol, status));
const eventChild = cached((protocol, outcome) => ingestEvents.labels(protocol, outcome));
const deadChild = cached((protocol, reason) => deadLetters.labels(protocol, reason));
const appendChild = cached((output) => appendSeconds.labels(output));
const reportChild = cached((method, status) => reportSeconds.labels(method, status));
const statusText: string[] = [];
const status = (code: number) => statusText[code] ?? (statusText[code] = String(code));

export const metrics = {
  ingestRequest(protocol: string, httpStatus: number): void {
    requestChild(protocol, status(httpStatus)).inc();
  },
  ingestEvents(protocol: string, outcome: 'accepted' | 'dead_lettered', n: number): void {
    if (n > 0) eventChild(protocol, outcome).inc(n);
  },
  deadLetter(protocol: string, reason: string): void {
    deadChild(protocol, reason).inc();
  },
  appendDone(output: string, seconds: number): void {
    appendChild(output, '').observe(seconds);
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
  /** Sets where archiver lag and "complete up to" are read from at scrape time; returns the unset. */
  readFrom(s: Partial<typeof sources>): () => void {
    Object.assign(sources, s);
    return () => {
      for (const k of Object.keys(s) as (keyof typeof sources)[]) if (sources[k] === s[k]) sources[k] = null;
    };
  },
};

/** The text exposition, for GET /metrics. */
export async function scrape(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
