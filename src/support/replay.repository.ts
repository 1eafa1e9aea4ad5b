import { randomUUID } from 'node:crypto';
import type { Db } from '../infra/metadata/db.js';
import type { PropertySettings } from '../domain/property-settings.js';
import type { ReplayDiff } from './replay-diff.js';
import type { SupportActor } from './support.ports.js';

export type ReplayState = 'queued' | 'running' | 'succeeded' | 'failed';

/** A replay as the API and the CLI show it. */
export interface ReplayView {
  id: string;
  organizationId: string;
  propertyId: string;
  from: string;
  to: string;
  dryRun: boolean;
  reason: string;
  state: ReplayState;
  progress: { done: number; total: number; unit: 'partitions' };
  /** Events written (staged for a dry run). */
  events: number;
  diff: ReplayDiff | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** What a replay is asked with: the view's request fields, and who asks. */
export interface NewReplay extends Pick<ReplayView, 'organizationId' | 'propertyId' | 'from' | 'to' | 'dryRun' | 'reason'> {
  actor: SupportActor;
}

/** The `replays` table: one row per replay, updated as it runs. */
export class ReplayRepository {
  constructor(private readonly db: Db) {}

  async create(r: NewReplay): Promise<ReplayView> {
    const id = `rp_${randomUUID().replaceAll('-', '')}`;
    await this.db('replays').insert({
      id,
      organization_id: r.organizationId,
      property_id: r.propertyId,
      from_date: r.from,
      to_date: r.to,
      dry_run: r.dryRun,
      reason: r.reason,
      actor_kind: r.actor.kind,
      actor_user_id: r.actor.userId ?? null,
      state: 'queued',
    });
    return (await this.get(id))!;
  }

  async get(id: string): Promise<ReplayView | null> {
    if (!/^rp_[0-9a-f]{32}$/.test(id)) return null;
    const r = await this.db('replays').where({ id }).first();
    return r ? toView(r) : null;
  }

  /** The actor a replay runs for (its audit entry names them). */
  async actor(id: string): Promise<SupportActor> {
    const r = await this.db('replays').where({ id }).first('actor_kind', 'actor_user_id', 'reason');
    return { kind: r.actor_kind, userId: r.actor_user_id, reason: r.reason };
  }

  async organizationOf(id: string): Promise<string | null> {
    return (await this.get(id))?.organizationId ?? null;
  }

  async start(id: string, settings: PropertySettings, total: number): Promise<void> {
    await this.db('replays')
      .where({ id })
      .update({ state: 'running', started_at: this.db.fn.now(), settings: JSON.stringify(settings), partitions_total: total, partitions_done: 0 });
  }

  async progress(id: string, done: number, total: number): Promise<void> {
    await this.db('replays').where({ id }).update({ partitions_done: done, partitions_total: total });
  }

  async finish(id: string, r: { diff: ReplayDiff; events: number; done: number }): Promise<void> {
    await this.db('replays')
      .where({ id })
      .update({ state: 'succeeded', diff: JSON.stringify(r.diff), events: r.events, partitions_done: r.done, finished_at: this.db.fn.now() });
  }

  async fail(id: string, error: string): Promise<void> {
    await this.db('replays')
      .where({ id })
      .update({ state: 'failed', error: error.slice(0, 2000), finished_at: this.db.fn.now() });
  }

  async listForProperty(propertyId: string, limit = 20): Promise<ReplayView[]> {
    return (await this.db('replays').where({ property_id: propertyId }).orderBy('created_at', 'desc').limit(limit)).map(toView);
  }
}

function toView(r: Record<string, any>): ReplayView {
  return {
    id: r.id,
    organizationId: r.organization_id,
    propertyId: String(r.property_id),
    from: isoDate(r.from_date),
    to: isoDate(r.to_date),
    dryRun: Boolean(r.dry_run),
    reason: r.reason,
    state: r.state,
    progress: { done: Number(r.partitions_done), total: Number(r.partitions_total), unit: 'partitions' },
    events: Number(r.events),
    diff: typeof r.diff === 'string' ? JSON.parse(r.diff) : (r.diff ?? null),
    error: r.error ?? null,
    createdAt: new Date(r.created_at).toISOString(),
    finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
  };
}

function isoDate(v: unknown): string {
  if (v instanceof Date) {
    // pg returns DATE as a local-midnight Date: its calendar fields, not its UTC instant
    return `${v.getFullYear()}-${String(v.getMonth() + 1).padStart(2, '0')}-${String(v.getDate()).padStart(2, '0')}`;
  }
  return String(v).slice(0, 10);
}
