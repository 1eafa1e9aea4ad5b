import { randomUUID } from 'node:crypto';
import { TRANSFORMED_TABLE_NAMES, rawPropertyPrefix, transformStatePrefix } from '../domain/transformed-schema.js';
import { TallyError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import { metrics } from '../infra/metrics/metrics.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { AuditPort, LifecycleActor, PipelinePort, Progress, RawManifest } from './lifecycle.ports.js';
import type { DeletionReceipt, LifecycleRepository } from './lifecycle.repository.js';
import { countParquetRows, removeParquetRows, sqlText } from './parquet-files.js';
import { deadLetterIsPerson, rawEventIsPerson, subjectHash, type Person } from './person.js';
import { replaceRawObjects, rewriteRawObjects } from './raw-rewrite.js';

export interface DeletionDeps {
  repo: LifecycleRepository;
  store: ObjectStore;
  manifest: RawManifest;
  warehouse: Warehouse;
  pipeline: PipelinePort;
  audit: AuditPort;
  logger: Logger;
}

/** The job that runs a deletion (the worker's queue). */
export const DELETE_USER_JOB = 'delete-user';

export interface DeleteUserJobData {
  receiptId: string;
  tenantId: string;
  propertyId: string;
  kind: Person['kind'];
  id: string;
}

/** Checks a deletion request; the receipt is written now (state `queued`), the work done by `runDeletion`. */
export async function requestDeletion(
  deps: Pick<DeletionDeps, 'repo' | 'audit'>,
  r: { tenantId: string; propertyId: string; person: Person; reason: string; actor: LifecycleActor },
): Promise<{ receipt: DeletionReceipt; job: DeleteUserJobData }> {
  const id = r.person.id;
  if (typeof id !== 'string' || !id || id.length > 256)
    throw new TallyError('invalid_argument', `${r.person.kind}: 1 to 256 characters`, { reason: 'invalid_id' });
  const reason = r.reason?.trim();
  if (!reason || reason.length > 500)
    throw new TallyError('invalid_argument', 'reason: 1 to 500 characters (why, e.g. the request ticket)', { reason: 'reason_required' });
  const receipt = await deps.repo.createReceipt({
    id: `del_${randomUUID().replace(/-/g, '')}`,
    organizationId: r.tenantId,
    propertyId: r.propertyId,
    subject: { kind: r.person.kind, sha256: subjectHash(r.propertyId, r.person) },
    reason,
    requestedBy: r.actor.userId ?? r.actor.kind,
  });
  await deps.audit(r.actor, {
    organizationId: r.tenantId,
    action: 'data.delete_user',
    targetType: 'deletion',
    targetId: receipt.id,
    after: { propertyId: r.propertyId, subject: receipt.subject },
  });
  return { receipt, job: { receiptId: receipt.id, tenantId: r.tenantId, propertyId: r.propertyId, kind: r.person.kind, id } };
}

/**
 * Deletes one person's records from every zone of one property, and records what it removed:
 * 1. waits until the archiver has written everything the event log holds now (raw zone complete);
 * 2. raw zone: every object holding the person rewritten without them (new key, manifest updated,
 *    old object removed); dead letters the same;
 * 3. drops the transform's carried state (it holds raw records of open sessions), re-transforms
 *    every date from the raw zone and loads the changed partitions (identity links go with them);
 * 4. transformed partitions the rebuild did not reach (older than the raw zone's retention) are
 *    rewritten without the person's rows and reloaded; then the transformed zone and the warehouse
 *    are scanned: `transformedRemaining` and `warehouseRemaining` must be 0.
 */
export async function runDeletion(deps: DeletionDeps, job: DeleteUserJobData, progress: Progress): Promise<Record<string, number>> {
  const { repo, store } = deps;
  const person: Person = { kind: job.kind, id: job.id };
  const p = { tenantId: job.tenantId, propertyId: job.propertyId };
  await repo.updateReceipt(job.receiptId, { state: 'running' });
  try {
    await deps.pipeline.archiverCaughtUp();
    const warehouseBefore = await warehouseRows(deps.warehouse, p, person);
    const tag = job.receiptId.replace(/^del_/, 'del-').slice(0, 40);

    const raw = await rewriteRawObjects(
      store,
      rawPropertyPrefix({ ...p, zone: 'raw' }),
      tag,
      (r) => rawEventIsPerson(r, p.propertyId, person),
      (d, t) => progress(d, t, 'raw objects'),
    );
    await replaceRawObjects(store, deps.manifest, raw.rewritten);
    const dead = await rewriteRawObjects(store, rawPropertyPrefix({ ...p, zone: 'deadletter' }), tag, (r) => deadLetterIsPerson(r, p.propertyId, person));
    await replaceRawObjects(store, null, dead.rewritten);

    // the carried open-session records are raw records too; the rebuild makes the state again
    const state = (await store.list(transformStatePrefix(p))).map((o) => o.key);
    if (state.length) await store.delete(state);
    const rebuilt = await deps.pipeline.rebuild(p.propertyId, progress);

    // what the rebuild did not reach, and the scan that proves nothing is left
    const where = `${person.kind} = ${sqlText(person.id)}`;
    let transformedRemoved = 0;
    let transformedRemaining = 0;
    const parts = await repo.partitions(p.propertyId);
    for (const [i, part] of parts.entries()) {
      progress(i, parts.length, 'partitions scanned');
      const r = await removeParquetRows(store, part.keys, where);
      if (!r.removed) continue;
      transformedRemoved += r.removed;
      await deps.warehouse.loadPartition(part.table as never, { ...p, date: part.date }, part.keys);
      await repo.partitionRewritten(p.propertyId, part.table, part.date, r.left);
    }
    progress(parts.length, parts.length, 'partitions scanned');
    for (const part of await repo.partitions(p.propertyId)) transformedRemaining += await countParquetRows(store, part.keys, where);
    const warehouseAfter = await warehouseRows(deps.warehouse, p, person);

    const counts = {
      rawRecords: raw.removed,
      rawObjectsRewritten: raw.rewritten.length,
      rawObjectsScanned: raw.scanned,
      deadLetters: dead.removed,
      datesRebuilt: rebuilt.dates,
      partitionsReloaded: rebuilt.partitions,
      transformedRowsRemovedOutsideRebuild: transformedRemoved,
      transformedRemaining,
      ...Object.fromEntries(TRANSFORMED_TABLE_NAMES.map((t) => [`warehouse${cap(t)}`, warehouseBefore[t] - warehouseAfter[t]])),
      warehouseRemaining: TRANSFORMED_TABLE_NAMES.reduce((n, t) => n + warehouseAfter[t], 0),
    };
    metrics.lifecycleRecords('delete', 'raw', raw.removed);
    metrics.lifecycleRecords('delete', 'dead_letters', dead.removed);
    metrics.lifecycleRecords('delete', 'warehouse', warehouseBefore.events - warehouseAfter.events);
    await repo.updateReceipt(job.receiptId, { state: 'done', counts });
    deps.logger.info({ receiptId: job.receiptId, propertyId: p.propertyId, counts }, 'person deleted');
    return counts;
  } catch (err) {
    await repo.updateReceipt(job.receiptId, { state: 'failed', error: (err as Error).message.slice(0, 2000) }).catch(() => undefined);
    throw err;
  }
}

/** The person's rows in each warehouse table of the property. */
async function warehouseRows(w: Warehouse, p: { tenantId: string; propertyId: string }, person: Person): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TRANSFORMED_TABLE_NAMES) {
    const rows = await w.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${t} WHERE tenant_id = $1 AND property_id = $2 AND ${person.kind} = $3`, [
      p.tenantId,
      p.propertyId,
      person.id,
    ]);
    out[t] = Number(rows[0]?.n ?? 0);
  }
  return out;
}

function cap(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}
