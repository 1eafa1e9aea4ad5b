import { TallyError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import { metrics } from '../infra/metrics/metrics.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { JobQueue } from '../infra/jobs/job-queue.port.js';
import { datesBetween } from '../domain/time-zone.js';
import { TRANSFORMED_TABLE_NAMES, transformedKey } from '../domain/transformed-schema.js';
import { diffPartitions, type ReplayDiff, type SideKeys } from './replay-diff.js';
import { ReplayRepository, type ReplayView } from './replay.repository.js';
import { StagingObjectStore } from './staging.object-store.js';
import type { AuditWriter, DateLocks, EngineFactory, FeatureGate, PartitionRecord, PropertyLookup, ReplayPipeline, SupportActor } from './support.ports.js';

/** The longest range one replay may cover. */
export const MAX_REPLAY_DAYS = 400;
/** How long a real replay waits for the scheduler's transform of the same dates to finish. */
const LOCK_WAIT_MS = 10 * 60_000;

export interface ReplayInput {
  propertyId: string;
  from: string;
  to: string;
  dryRun: boolean;
  reason: string;
}

export interface ReplayServiceDeps {
  replays: ReplayRepository;
  properties: PropertyLookup;
  /** Absent in a process that runs replays itself (the CLI's job run). */
  jobs?: JobQueue;
  /** The plan's `replay` feature, asked for a customer's replay (a member); staff and operators are not gated. */
  features?: FeatureGate;
}

/** Creates replays (validated, recorded as queued) and hands them to the worker's `replay` job. */
export class ReplayService {
  constructor(private readonly deps: ReplayServiceDeps) {}

  async create(input: ReplayInput, actor: SupportActor): Promise<ReplayView> {
    checkRange(input.from, input.to);
    const property = await this.deps.properties(input.propertyId);
    if (!property) throw new TallyError('not_found', `no property ${input.propertyId}`, { reason: 'property_not_found' });
    if (actor.kind === 'user') await this.deps.features?.(property.organizationId, 'replay');
    return this.deps.replays.create({ ...input, organizationId: property.organizationId, actor: { ...actor, reason: input.reason } });
  }

  /** Records the replay and queues it for a worker; the caller polls `get`. */
  async submit(input: ReplayInput, actor: SupportActor): Promise<ReplayView> {
    if (!this.deps.jobs) throw new TallyError('unavailable', 'this process queues no jobs', { reason: 'no_job_queue' });
    const replay = await this.create(input, actor);
    await this.deps.jobs.enqueue('replay', { replayId: replay.id }, { jobId: `replay-${replay.id}`, attempts: 1 });
    return replay;
  }

  get(id: string): Promise<ReplayView | null> {
    return this.deps.replays.get(id);
  }

  /** The property's latest replays, newest first, without their diffs (a list stays small; one replay's view has it). */
  async list(propertyId: string): Promise<(Omit<ReplayView, 'diff'> & { diff: null })[]> {
    return (await this.deps.replays.listForProperty(propertyId)).map((r) => ({ ...r, diff: null }));
  }
}

export function checkRange(from: string, to: string): void {
  for (const [name, d] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`)) || new Date(`${d}T00:00:00Z`).toISOString().slice(0, 10) !== d)
      throw new TallyError('invalid_argument', `${name}: a date YYYY-MM-DD`, { reason: 'invalid_date' });
  }
  if (from > to) throw new TallyError('invalid_argument', 'from is after to', { reason: 'invalid_range' });
  if (datesBetween(from, to).length > MAX_REPLAY_DAYS)
    throw new TallyError('invalid_argument', `a replay covers at most ${MAX_REPLAY_DAYS} days`, { reason: 'range_too_long' });
}

export interface ReplayRunnerDeps {
  replays: ReplayRepository;
  store: ObjectStore;
  /** An engine writing into the given store (the staging area); one per run, closed after it. */
  engineFor: EngineFactory;
  warehouse: Warehouse;
  pipeline: ReplayPipeline;
  locks: DateLocks;
  properties: PropertyLookup;
  audit: AuditWriter;
  logger: Logger;
  tempDir?: string;
}

/**
 * Runs one replay (the worker's `replay` job). Every run transforms the range from the raw zone
 * with the property's current settings into a staging area (`staging/replays/<id>/`) and diffs it
 * against the current partitions. A real run then takes the lock on the property's dates (the
 * scheduler's transform and compaction skip locked dates; a replay waits for them), swaps each
 * staged partition in as the date's one file (`part-0.parquet`, the same bytes every time for the
 * same raw data and settings), records it, removes the files it replaced, and loads each
 * partition into the warehouse in one transaction as the load job does. Audited either way.
 */
export class ReplayRunner {
  constructor(private readonly deps: ReplayRunnerDeps) {}

  async run(id: string, onProgress: (done: number, total: number) => void = () => undefined): Promise<ReplayView> {
    const replay = await this.deps.replays.get(id);
    if (!replay) throw new TallyError('not_found', `no replay ${id}`, { reason: 'replay_not_found' });
    if (replay.state !== 'queued') return replay;
    const mode = replay.dryRun ? 'dry_run' : 'real';
    try {
      const result = await this.execute(replay, onProgress);
      metrics.replay(mode, 'succeeded', result.events);
    } catch (err) {
      metrics.replay(mode, 'failed', 0);
      this.deps.logger.error({ err, replayId: id }, 'replay failed');
      await this.deps.replays.fail(id, (err as Error).message);
      throw err;
    }
    return (await this.deps.replays.get(id))!;
  }

  private async execute(replay: ReplayView, onProgress: (done: number, total: number) => void): Promise<{ events: number }> {
    const property = await this.deps.properties(replay.propertyId);
    if (!property) throw new TallyError('not_found', `property ${replay.propertyId} no longer exists`, { reason: 'property_not_found' });
    const { settings } = property;
    const dates = datesBetween(replay.from, replay.to);
    const perDate = TRANSFORMED_TABLE_NAMES.length;
    const total = dates.length * perDate * (replay.dryRun ? 1 : 2);
    await this.deps.replays.start(replay.id, settings, total);
    let done = 0;
    let saved = 0;
    const report = (n: number) => {
      done = n;
      onProgress(done, total);
      if (Date.now() - saved > 500 || done === total) {
        saved = Date.now();
        void this.deps.replays.progress(replay.id, done, total).catch(() => undefined);
      }
    };

    const lock = replay.dryRun ? null : await this.deps.locks.acquire(replay.propertyId, replay.from, replay.to, `replay:${replay.id}`, LOCK_WAIT_MS);
    const staging = new StagingObjectStore(this.deps.store, `staging/replays/${replay.id}/`);
    try {
      const current = await this.deps.pipeline.partitionsBetween(replay.propertyId, replay.from, replay.to);
      if (lock) refuseOpenDates(current);
      const engine = this.deps.engineFor(staging);
      const staged = await engine.transform({ settings, dates }, (d, t) => report(Math.max(0, d - (t - dates.length * perDate)))).finally(() => engine.close());
      const stagedKeys = (table: 'events' | 'sessions') =>
        staged.partitions.filter((p) => p.table === table).flatMap((p) => p.keys.map((k) => staging.prefix + k));
      const currentKeys = (table: 'events' | 'sessions') => current.filter((p) => p.table === table).flatMap((p) => p.keys);
      const before: SideKeys = { events: currentKeys('events'), sessions: currentKeys('sessions') };
      const after: SideKeys = { events: stagedKeys('events'), sessions: stagedKeys('sessions') };
      const diff = await diffPartitions(this.deps.store, dates, before, after, this.deps.tempDir);
      report(dates.length * perDate);

      if (lock) await this.swap(replay, staging, staged.partitions, current, (n) => report(dates.length * perDate + n));
      await this.deps.replays.finish(replay.id, { diff, events: staged.eventsWritten, done: total });
      await this.deps.audit(await this.deps.replays.actor(replay.id), {
        organizationId: replay.organizationId,
        action: replay.dryRun ? 'support.replay.dry_run' : 'support.replay',
        targetType: 'property',
        targetId: replay.propertyId,
        after: { replayId: replay.id, from: replay.from, to: replay.to, dryRun: replay.dryRun, events: staged.eventsWritten, summary: summary(diff) },
      });
      return { events: staged.eventsWritten };
    } finally {
      await staging.clear().catch((err) => this.deps.logger.warn({ err, replayId: replay.id }, 'could not clear a replay staging area'));
      await lock?.release();
    }
  }

  /** Staged partitions in place, recorded, old files removed, then each loaded atomically. */
  private async swap(
    replay: ReplayView,
    staging: StagingObjectStore,
    staged: { table: PartitionRecord['table']; date: string; keys: string[]; rows: number }[],
    current: PartitionRecord[],
    progress: (n: number) => void,
  ): Promise<void> {
    const { propertyId } = replay;
    const property = await this.deps.properties(propertyId);
    const tenantId = property!.settings.tenantId;
    const records: PartitionRecord[] = [];
    for (const p of staged) {
      const key = transformedKey(p.table, { tenantId, propertyId, date: p.date });
      const body = await this.deps.store.get(staging.prefix + p.keys[0]);
      if (!body || p.keys.length !== 1) throw new TallyError('internal', `staged partition ${p.table} ${p.date} is missing`);
      await this.deps.store.put(key, body);
      records.push({ tenantId, propertyId, table: p.table, date: p.date, keys: [key], rows: p.rows });
    }
    await this.deps.pipeline.markTransformed(tenantId, propertyId, await this.deps.pipeline.transformedSeq(propertyId), records);
    const kept = new Set(records.flatMap((r) => r.keys));
    const obsolete = current.flatMap((p) => p.keys).filter((k) => !kept.has(k));
    if (obsolete.length) await this.deps.store.delete(obsolete);
    const wanted = new Set(records.map((r) => `${r.table}/${r.date}`));
    const pending = (await this.deps.pipeline.pendingLoads(propertyId)).filter((p) => wanted.has(`${p.table}/${p.date}`));
    for (const [i, p] of pending.entries()) {
      const r = await this.deps.warehouse.loadPartition(p.table, { tenantId, propertyId, date: p.date }, p.keys);
      await this.deps.pipeline.markLoaded(p, p.transformedAt, r.rows);
      progress(i + 1);
    }
    progress(records.length);
  }
}

/**
 * The incremental transform keeps the rows of sessions still open in `open.parquet` and carries
 * their raw records into its next cycle: rewriting such a date behind its back would count them
 * twice. A real replay covers closed dates only.
 */
function refuseOpenDates(current: PartitionRecord[]): void {
  const open = current.filter((p) => p.keys.some((k) => k.endsWith('/open.parquet'))).map((p) => p.date);
  if (open.length)
    throw new TallyError(
      'conflict',
      `${[...new Set(open)].sort().join(', ')} still hold open sessions the transform is continuing; replay up to the day before, or after they close`,
      { reason: 'replay_range_open' },
    );
}

/** The audit log's short form of a diff: totals before and after. */
export function summary(diff: ReplayDiff): Record<string, { before: number; after: number }> {
  const out: Record<string, { before: number; after: number }> = {};
  for (const k of Object.keys(diff.totals.before) as (keyof ReplayDiff['totals']['before'])[])
    out[k] = { before: diff.totals.before[k], after: diff.totals.after[k] };
  return out;
}
