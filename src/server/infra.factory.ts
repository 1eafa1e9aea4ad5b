import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../infra/config/config.js';
import type { EventLog } from '../infra/event-log/event-log.port.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { Counters } from '../infra/counters/counters.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { TransformEngine } from '../infra/transform/transform-engine.port.js';
import { LocalEventLog } from '../infra/event-log/local.event-log.js';
import { FolderObjectStore } from '../infra/object-store/folder.object-store.js';
import { MemoryCounters } from '../infra/counters/memory.counters.js';
import { RedisCounters } from '../infra/counters/redis.counters.js';
import type { JobQueue } from '../infra/jobs/job-queue.port.js';
import { InProcessJobQueue } from '../infra/jobs/in-process.job-queue.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { DuckDbTransformEngine } from '../infra/transform/duckdb.transform-engine.js';
import { SparkTransformEngine } from '../infra/transform/spark.transform-engine.js';
import { TallyError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import type { Mailer } from '../infra/mailer/mailer.port.js';
import { OutboxMailer } from '../infra/mailer/outbox.mailer.js';

/**
 * The one place that picks an implementation per port from configuration. Business code only
 * ever sees the port.
 */
export async function openEventLog(config: Config, logger?: Logger): Promise<EventLog> {
  if (config.eventLog.kind === 'local') {
    return LocalEventLog.open({
      dir: path.join(config.core.dataDir, 'log'),
      partitions: config.eventLog.partitions,
      segmentBytes: config.eventLog.segmentBytes,
      retentionMs: config.eventLog.retentionMs,
      logger,
    });
  }
  const kafka = config.eventLog.kafka;
  if (!kafka) throw new TallyError('invalid_argument', 'KAFKA_BROKERS is required for the Kafka event log');
  const { KafkaEventLog } = await import('../infra/event-log/kafka.event-log.js');
  return KafkaEventLog.open({ ...kafka, partitions: config.eventLog.partitions, logger });
}

export async function openObjectStore(config: Config): Promise<ObjectStore> {
  const c = config.objectStore;
  if (c.kind === 'folder') {
    fs.mkdirSync(c.dir, { recursive: true });
    return new FolderObjectStore(c.dir);
  }
  const { S3ObjectStore } = await import('../infra/object-store/s3.object-store.js');
  return new S3ObjectStore({ bucket: c.bucket, prefix: c.prefix, region: c.region, endpoint: c.endpoint, forcePathStyle: c.forcePathStyle });
}

export function openCounters(config: Config, logger?: Logger): Counters {
  if (config.counters.redisUrl) return new RedisCounters({ url: config.counters.redisUrl, prefix: config.counters.prefix, logger });
  return new MemoryCounters();
}

/** BullMQ when REDIS_URL is set (every process with the same prefix shares the jobs), else in this process. */
export async function openJobQueue(config: Config, logger?: Logger): Promise<JobQueue> {
  if (!config.jobs.redisUrl) return new InProcessJobQueue(logger);
  const { BullMqJobQueue } = await import('../infra/jobs/bullmq.job-queue.js');
  return new BullMqJobQueue({ url: config.jobs.redisUrl, prefix: config.jobs.queuePrefix, logger });
}

export async function openWarehouse(config: Config, store: ObjectStore): Promise<Warehouse> {
  const c = config.warehouse;
  let w: Warehouse;
  if (c.kind === 'postgres') {
    const { PostgresWarehouse } = await import('../infra/warehouse/postgres.warehouse.js');
    const tempDir = path.join(config.core.dataDir, 'tmp');
    fs.mkdirSync(tempDir, { recursive: true });
    w = new PostgresWarehouse({ url: c.url, store, tempDir });
  } else if (c.kind === 'redshift') {
    const { RedshiftWarehouse } = await import('../infra/warehouse/redshift.warehouse.js');
    w = new RedshiftWarehouse({ url: c.url, store, iamRole: c.iamRole });
  } else {
    // objects on S3 are fetched through the store (no DuckDB httpfs: that is a run-time download)
    const tempDir = path.join(config.core.dataDir, 'tmp');
    fs.mkdirSync(tempDir, { recursive: true });
    w = await DuckDbWarehouse.open({ path: c.path, store, tempDir });
  }
  await w.init();
  return w;
}

export function openTransformEngine(config: Config, store: ObjectStore): TransformEngine {
  const tempDir = path.join(config.core.dataDir, 'tmp');
  fs.mkdirSync(tempDir, { recursive: true });
  const spark = config.jobs.spark;
  if (spark) {
    const os = config.objectStore;
    return new SparkTransformEngine(store, {
      sparkSubmit: spark.submit,
      master: spark.master,
      jars: spark.jars,
      driverMemory: spark.driverMemory,
      s3: os.kind === 's3' ? { endpoint: os.endpoint, region: os.region, forcePathStyle: os.forcePathStyle } : undefined,
      tempDir,
    });
  }
  return new DuckDbTransformEngine(store, { tempDir });
}

/** SMTP when SMTP_URL is set, else .eml files in <dataDir>/outbox. */
export async function openMailer(config: Config, logger?: Logger): Promise<Mailer> {
  if (!config.accounts.smtpUrl) return new OutboxMailer(path.join(config.core.dataDir, 'outbox'), config.accounts.mailFrom, logger);
  const { SmtpMailer } = await import('../infra/mailer/smtp.mailer.js');
  return new SmtpMailer(config.accounts.smtpUrl, config.accounts.mailFrom);
}
