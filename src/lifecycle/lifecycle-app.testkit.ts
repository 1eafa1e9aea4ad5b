import path from 'node:path';
import type { Db } from '../infra/metadata/db.js';
import { loadConfig } from '../infra/config/config.js';
import { InProcessJobQueue } from '../infra/jobs/in-process.job-queue.js';
import { openEventLog, openObjectStore, openWarehouse } from '../server/infra.factory.js';
import { auditPort, importSink, propertyLookup } from '../server/lifecycle.wiring.js';
import { LifecycleRepository } from './lifecycle.repository.js';
import { lifecycleRoutes, type LifecycleApi } from './lifecycle.routes.js';
import { planRetention } from './retention.js';

/**
 * The lifecycle's API routes on real embedded infrastructure in `dir` (local event log, folder
 * store, DuckDB warehouse, in-process queue), for a test app that serves them behind tenancy's guard.
 */
export async function lifecycleTestRoutes(
  deps: { db: Db; credentials: { property(id: string): any; refresh(): Promise<unknown> }; dir: string },
  opts: Pick<LifecycleApi, 'readAllowed'> = {},
) {
  const config = loadConfig({ TALLY_DATA_DIR: path.join(deps.dir, 'lifecycle') });
  const store = await openObjectStore(config);
  const warehouse = await openWarehouse(config, store);
  const log = await openEventLog(config);
  const jobs = new InProcessJobQueue();
  const routes = lifecycleRoutes({
    repo: new LifecycleRepository(deps.db),
    warehouse,
    jobs,
    sink: importSink({ log }),
    properties: propertyLookup(deps.credentials),
    plan: planRetention,
    audit: auditPort(deps.db),
    readAllowed: opts.readAllowed,
  });
  return {
    routes,
    log,
    warehouse,
    async close() {
      await jobs.stop();
      await log.close();
      await warehouse.close();
      await store.close();
    },
  };
}
