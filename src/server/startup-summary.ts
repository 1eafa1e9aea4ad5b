import type { Config } from '../infra/config/config.js';

/** A URL without its credentials or query (passwords, tokens): scheme, host, port and path. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparseable)';
  }
}

/**
 * What this process runs and on which engines, and where they point, without secrets: the first
 * lines a misconfigured deployment shows.
 */
export function describeEngines(config: Config, roles: string[]): Record<string, unknown> {
  const os = config.objectStore;
  const wh = config.warehouse;
  const log = config.eventLog;
  return {
    roles,
    dataDir: config.core.dataDir,
    http: { host: config.http.host, port: config.http.port, healthPort: config.http.healthPort ?? null, trustProxy: config.http.trustProxy },
    metadata: config.db.url ? { engine: 'postgres', url: redactUrl(config.db.url) } : { engine: 'pglite', dir: config.core.dataDir },
    eventLog:
      log.kind === 'kafka' && log.kafka
        ? { engine: 'kafka', brokers: log.kafka.brokers, topics: log.kafka.topics, partitions: log.partitions }
        : { engine: 'local', dir: `${config.core.dataDir}/log`, partitions: log.partitions },
    objectStore:
      os.kind === 's3'
        ? { engine: 's3', bucket: os.bucket, prefix: os.prefix, region: os.region, endpoint: os.endpoint ?? 'aws' }
        : { engine: 'folder', dir: os.dir },
    warehouse: wh.kind === 'duckdb' ? { engine: 'duckdb', path: wh.path } : { engine: wh.kind, url: redactUrl(wh.url) },
    transform: config.jobs.spark ? { engine: 'spark', master: config.jobs.spark.master } : { engine: 'duckdb' },
    jobs: config.jobs.redisUrl ? { engine: 'bullmq', redis: redactUrl(config.jobs.redisUrl), prefix: config.jobs.queuePrefix } : { engine: 'in-process' },
    counters: config.counters.redisUrl ? { engine: 'redis', redis: redactUrl(config.counters.redisUrl) } : { engine: 'memory' },
  };
}
