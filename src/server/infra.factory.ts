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
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { DuckDbTransformEngine } from '../infra/transform/duckdb.transform-engine.js';
import { TallyError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';

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
  throw new TallyError('unavailable', 'the Kafka event log is not part of this build yet (TALLY_EVENT_LOG=kafka)');
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

export function openCounters(_config: Config): Counters {
  return new MemoryCounters();
}

export async function openWarehouse(config: Config, store: ObjectStore): Promise<Warehouse> {
  const w = await DuckDbWarehouse.open({ path: path.join(config.core.dataDir, 'warehouse.duckdb'), resolve: (k) => store.locate(k) });
  await w.init();
  return w;
}

export function openTransformEngine(config: Config, store: ObjectStore): TransformEngine {
  const tempDir = path.join(config.core.dataDir, 'tmp');
  fs.mkdirSync(tempDir, { recursive: true });
  return new DuckDbTransformEngine(store, { tempDir });
}
