import { parseRawKey, rawPropertyPrefix, transformedPropertyPrefix, TRANSFORMED_TABLE_NAMES } from '../domain/transformed-schema.js';
import { addDays } from '../domain/time-zone.js';
import { planEntitlements } from '../domain/plans.js';
import { TallyError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import { metrics } from '../infra/metrics/metrics.js';
import type { Progress, RawManifest } from './lifecycle.ports.js';
import { DATA_CLASSES, type DataClass, type LifecycleRepository, type RetentionDays } from './lifecycle.repository.js';
import { orphanProperties, purgeProperty, warehouseDates, type PurgeDeps } from './purge.js';

/** A plan's retention per data class. */
export type PlanRetention = (planId: string) => Promise<RetentionDays>;

/**
 * A plan's retention in the lifecycle's data classes, from the one plan definition
 * (src/domain/plans.ts, owned by billing): the report data (transformed zone and warehouse) is
 * the plan's `events`, the raw zone its `raw`, dead letters its `dead_letter`. A plan id the
 * definition does not know gets the free plan's (planEntitlements).
 */
export const planRetention: PlanRetention = async (planId) => {
  const days = planEntitlements(planId).retentionDays;
  return { raw: days.raw, transformed: days.events, warehouse: days.events, deadLetters: days.dead_letter };
};

export interface RetentionView {
  plan: RetentionDays;
  /** The property's own setting per class (null: the plan's). */
  property: Record<DataClass, number | null>;
  /** What the daily job enforces: the property's setting, never above the plan's. */
  effective: RetentionDays;
}

export async function retentionOf(repo: LifecycleRepository, plan: PlanRetention, p: { propertyId: string; planId: string }): Promise<RetentionView> {
  const planDays = await plan(p.planId);
  const property = await repo.retentionSetting(p.propertyId);
  const effective = Object.fromEntries(DATA_CLASSES.map((c) => [c, Math.min(planDays[c], property[c] ?? planDays[c])])) as RetentionDays;
  return { plan: planDays, property, effective };
}

/** Sets a property's retention; a value above the plan's is refused (422), null returns a class to the plan's. */
export async function setRetention(
  repo: LifecycleRepository,
  plan: PlanRetention,
  p: { propertyId: string; planId: string },
  days: Partial<Record<DataClass, number | null>>,
): Promise<RetentionView> {
  const planDays = await plan(p.planId);
  const fields: Record<string, string> = {};
  for (const [c, v] of Object.entries(days) as [DataClass, number | null][]) {
    if (v !== null && v > planDays[c]) fields[c] = `at most the plan's ${planDays[c]} days`;
  }
  if (Object.keys(fields).length) {
    throw new TallyError(
      'unprocessable',
      Object.entries(fields)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; '),
      { reason: 'above_plan', fields },
    );
  }
  await repo.setRetention(p.propertyId, days);
  return retentionOf(repo, plan, p);
}

export const RETENTION_JOB = 'retention';

export interface RetentionDeps extends PurgeDeps {
  manifest: RawManifest;
  plan: PlanRetention;
  logger: Logger;
}

/**
 * The daily job: for every property, removes raw objects and dead letters received before its
 * retention (by their UTC receipt date), transformed partitions and warehouse partitions of local
 * dates before it; then purges the data of properties that no longer exist. Idempotent.
 */
export async function enforceRetention(deps: RetentionDeps, now: number, progress: Progress): Promise<Record<string, number>> {
  const today = new Date(now).toISOString().slice(0, 10);
  const props = await deps.repo.propertiesWithPlan();
  const totals = { properties: props.length, rawObjects: 0, deadLetterObjects: 0, transformedObjects: 0, warehousePartitions: 0, purgedProperties: 0 };
  for (const [i, p] of props.entries()) {
    progress(i, props.length, 'properties');
    const { effective } = await retentionOf(deps.repo, deps.plan, p);
    const raw = await expireRaw(deps, p, 'raw', addDays(today, -effective.raw));
    const dead = await expireRaw(deps, p, 'deadletter', addDays(today, -effective.deadLetters));
    let transformed = 0;
    const transformedCut = addDays(today, -effective.transformed);
    for (const table of TRANSFORMED_TABLE_NAMES) {
      const prefix = transformedPropertyPrefix(table, p);
      const old = (await deps.store.list(prefix)).map((o) => o.key).filter((k) => dateIn(k, prefix) < transformedCut);
      if (old.length) await deps.store.delete(old);
      await deps.repo.forgetPartitionsBefore(p.propertyId, table, transformedCut);
      transformed += old.length;
    }
    let partitions = 0;
    for (const table of TRANSFORMED_TABLE_NAMES) {
      for (const date of await warehouseDates(deps.warehouse, table, p, addDays(today, -effective.warehouse))) {
        await deps.warehouse.loadPartition(table, { ...p, date }, []);
        partitions++;
      }
    }
    totals.rawObjects += raw;
    totals.deadLetterObjects += dead;
    totals.transformedObjects += transformed;
    totals.warehousePartitions += partitions;
  }
  for (const orphan of await orphanProperties(deps)) {
    await purgeProperty(deps, orphan);
    totals.purgedProperties++;
  }
  progress(props.length, props.length, 'properties');
  metrics.lifecycleRecords('retention', 'raw', totals.rawObjects);
  metrics.lifecycleRecords('retention', 'dead_letters', totals.deadLetterObjects);
  metrics.lifecycleRecords('retention', 'transformed', totals.transformedObjects);
  metrics.lifecycleRecords('retention', 'warehouse', totals.warehousePartitions);
  deps.logger.info(totals, 'retention enforced');
  return totals;
}

/** Deletes a property's raw-zone (or dead-letter) objects received before `cutDate`; returns how many. */
async function expireRaw(deps: RetentionDeps, p: { tenantId: string; propertyId: string }, zone: 'raw' | 'deadletter', cutDate: string): Promise<number> {
  const old = (await deps.store.list(rawPropertyPrefix({ ...p, zone }))).map((o) => o.key).filter((k) => (parseRawKey(k)?.date ?? '9999') < cutDate);
  if (!old.length) return 0;
  if (zone === 'raw') await deps.manifest.forgetRawObjects(old);
  await deps.store.delete(old);
  return old.length;
}

function dateIn(key: string, prefix: string): string {
  const m = /^dt=(\d{4}-\d{2}-\d{2})\//.exec(key.slice(prefix.length));
  return m ? m[1] : '9999-12-31';
}
