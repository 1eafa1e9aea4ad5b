import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../infra/config/config.js';
import type { Logger } from '../infra/logger.js';
import { exposeFrom, registry, type Exposition } from '../infra/metrics/metrics.js';
import { holdsDataDir } from './modules.js';

/**
 * V8 flags each worker gets unless the operator set them: a larger young generation, so the
 * short-lived objects of a request die there instead of being scavenged and promoted (bench
 * collector, 25-event requests: 302 -> 240 µs CPU per request; 1-event unchanged).
 */
export const COLLECTOR_NODE_FLAGS = ['--max-semi-space-size=32'];

/** A respawn loop (a worker that dies at start) waits this long between forks. */
const RESPAWN_BACKOFF_MS = 1_000;
/** Workers that die before listening, in a row, after which the primary gives up (exit 1). */
export const MAX_FAILED_STARTS = 5;

/**
 * Counts workers that exit without ever listening, reset by any worker that listens. A worker that
 * cannot start (its database gone, a bad configuration) fails the same way every time: respawning
 * it forever burns CPU and hides the failure, so after `limit` in a row the primary stops and its
 * supervisor (systemd, Kubernetes) sees the exit.
 */
export class StartFailures {
  private inRow = 0;
  constructor(private readonly limit = MAX_FAILED_STARTS) {}
  /** A worker listened: the configuration works. */
  listened(): void {
    this.inRow = 0;
  }
  /** A worker exited; true when it never listened and that makes `limit` in a row. */
  exited(everListened: boolean): boolean {
    if (everListened) return false;
    return ++this.inRow >= this.limit;
  }
}

/**
 * Why this configuration cannot run several collector processes, or null when it can: each
 * process needs its own append path into a log that several writers share (Kafka; the embedded
 * log and PGlite are one process per data dir, `src/infra/dir-lock.ts`), and the processes must
 * share rate buckets, quota counters and the cookieless visitor salt (Redis), or each would grant
 * the plan's rate again and hash a visitor differently.
 */
export function whyNotSeveral(config: Config): string | null {
  if (holdsDataDir(config)) {
    return 'the embedded event log and database belong to one process (set DATABASE_URL and KAFKA_BROKERS to run several collectors)';
  }
  if (!config.counters.redisUrl) return 'rate limits, quotas and cookieless visitor ids must be shared between processes (set REDIS_URL)';
  return null;
}

/**
 * `--workers`: a positive integer, `auto` (every core this process may use), or the default: every
 * core where the configuration can run several processes (`whyNotSeveral`), else one. `/metrics`
 * on the shared port answers the sum over all workers (`joinCollectorCluster`).
 */
export function parseWorkers(value: string | undefined, several = true): number {
  if (value === undefined) return several ? os.availableParallelism() : 1;
  if (value === 'auto') return os.availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`--workers must be an integer from 1 to 256 or auto, not ${value}`);
  return n;
}

/** The IPC message a worker sends its primary for the cluster's metrics, and the answer's type. */
const METRICS_MESSAGE = 'tally:cluster-metrics';
/** A scrape fails (500, logged) rather than hang when the primary does not answer. */
const METRICS_TIMEOUT_MS = 10_000;

type MetricsMessage = { type: typeof METRICS_MESSAGE; id: number; body?: string; error?: string };
const isMetricsMessage = (m: unknown): m is MetricsMessage => (m as MetricsMessage | null)?.type === METRICS_MESSAGE;

/**
 * In a collector worker: answers the primary's requests for this worker's metrics (prom-client's
 * cluster protocol over `registry`), and makes GET /metrics ask the primary for the sum over every
 * live worker. Counters of a worker that died leave the sum (a counter reset, which Prometheus'
 * rate() handles).
 */
export function joinCollectorCluster(): void {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // registers the worker's answer to the primary's metrics requests
  const pending = new Map<number, (m: MetricsMessage) => void>();
  let next = 0;
  process.on('message', (m: unknown) => {
    if (isMetricsMessage(m)) pending.get(m.id)?.(m);
  });
  exposeFrom(
    () =>
      new Promise<Exposition>((resolve, reject) => {
        const id = next++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('the collector primary did not answer for the cluster metrics'));
        }, METRICS_TIMEOUT_MS);
        pending.set(id, (m) => {
          clearTimeout(timer);
          pending.delete(id);
          if (m.error !== undefined) reject(new Error(`cluster metrics: ${m.error}`));
          else resolve({ contentType: registry.contentType, body: m.body ?? '' });
        });
        process.send!({ type: METRICS_MESSAGE, id } satisfies MetricsMessage);
      }),
  );
}

/**
 * The cluster primary of `tally collector --workers N`: forks N workers (node:cluster), which share
 * the listening port (the primary hands connections round-robin) and each run the collector role
 * with their own Kafka producer. A worker that dies is replaced (its in-flight requests were never
 * acknowledged: a 2xx is sent only after the append is durable), unless workers keep dying before
 * they listen (`StartFailures`): then the primary stops, exit 1. SIGTERM / SIGINT is passed on; the
 * primary exits when every worker has drained and exited (1 when one failed to stop cleanly).
 */
export function runCollectorPrimary(workers: number, logger: Logger): void {
  let stopping = false;
  let failed = false;
  let lastFork = 0;
  const fork = (): Worker => {
    lastFork = Date.now();
    return cluster.fork({ TALLY_COLLECTOR_WORKER: '1' });
  };
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, m: unknown) => {
    if (!isMetricsMessage(m)) return;
    aggregator.clusterMetrics().then(
      (body) => worker.isConnected() && worker.send({ type: METRICS_MESSAGE, id: m.id, body } satisfies MetricsMessage),
      (err: Error) => worker.isConnected() && worker.send({ type: METRICS_MESSAGE, id: m.id, error: err.message } satisfies MetricsMessage),
    );
  });
  const starts = new StartFailures();
  const listening = new WeakSet<Worker>();
  cluster.on('listening', (worker) => {
    listening.add(worker);
    starts.listened();
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (code !== 0) failed = true;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
      return;
    }
    if (starts.exited(listening.has(worker))) {
      logger.error({ pid: worker.process.pid, code, signal, failedStarts: MAX_FAILED_STARTS }, 'collector workers keep failing at start; stopping');
      failed = true;
      shutdown('SIGTERM');
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'collector worker exited; starting another');
    const wait = Math.max(0, lastFork + RESPAWN_BACKOFF_MS - Date.now());
    setTimeout(() => {
      if (!stopping) fork();
    }, wait);
  });
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'draining collector workers');
    const alive = Object.values(cluster.workers ?? {});
    if (alive.length === 0) process.exit(failed ? 1 : 0);
    for (const w of alive) w?.process.kill(signal);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const flags = COLLECTOR_NODE_FLAGS.filter((f) => !given.some((g) => g.startsWith(f.split('=')[0])));
  cluster.setupPrimary({ execArgv: [...process.execArgv, ...flags] });
  logger.info({ workers, pid: process.pid, flags }, 'collector primary forking workers');
  for (let i = 0; i < workers; i++) fork();
}

/** Whether this process is a worker forked by `runCollectorPrimary`. */
export function isCollectorWorker(): boolean {
  return cluster.isWorker && process.env.TALLY_COLLECTOR_WORKER === '1';
}
