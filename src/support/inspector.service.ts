import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { TallyError } from '../infra/errors.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { RawEvent } from '../domain/raw-event.js';
import { rawDayPrefix } from '../domain/transformed-schema.js';
import { addDays, datesBetween } from '../domain/time-zone.js';
import { internalExclusion } from '../domain/rules/internal-traffic.js';
import { checkRange } from './replay.service.js';
import { list, localCopies } from './replay-diff.js';
import type { DeadLetterService } from './dead-letters.service.js';
import type { PropertyLookup, ReplayPipeline } from './support.ports.js';

/** Without a range, the inspector looks this many days back. */
const DEFAULT_DAYS = 7;
/** At most this many raw events are shown (the newest are kept). */
const MAX_EVENTS = 2_000;
/** Receipt is at most 72 h after the event: raw objects of the days after the range may hold its events. */
const LATE_DAYS = 3;

export type Verdict = 'counted' | 'bot' | 'duplicate' | 'internal_traffic' | 'not_yet_transformed' | 'outside_range' | 'dead_letter';

export interface InspectedEvent {
  eventId: string | null;
  name: string;
  eventTime: string;
  receivedAt: string;
  protocol: string;
  url: string | null;
  verdict: Verdict;
  /** Why, in words: the bot reason, the copy it duplicates, the dead letter's reason and detail. */
  why: string;
  /** The transformed row's session and local date, when it was transformed. */
  sessionKey: string | null;
  localDate: string | null;
}

export interface VisitorInspection {
  propertyId: string;
  clientId: string | null;
  userId: string | null;
  from: string;
  to: string;
  events: InspectedEvent[];
  sessions: Record<string, unknown>[];
  /** Events still in the event log, not yet in the raw zone, are not shown (see README). */
  notes: string[];
}

/**
 * "My conversion is missing": one visitor's raw events (raw zone) and dead letters beside their
 * transformed events and sessions (the current partitions), each raw event with why it was or
 * was not counted.
 */
export class VisitorInspector {
  constructor(
    private readonly deps: {
      store: ObjectStore;
      pipeline: ReplayPipeline;
      properties: PropertyLookup;
      deadLetters: DeadLetterService;
      tempDir?: string;
    },
  ) {}

  async inspect(q: { propertyId: string; clientId?: string; userId?: string; from?: string; to?: string }): Promise<VisitorInspection> {
    if (!q.clientId && !q.userId) throw new TallyError('invalid_argument', 'a client id or a user id', { reason: 'visitor_required' });
    const property = await this.deps.properties(q.propertyId);
    if (!property) throw new TallyError('not_found', `no property ${q.propertyId}`, { reason: 'property_not_found' });
    const tenantId = property.settings.tenantId;
    const to = q.to ?? new Date().toISOString().slice(0, 10);
    const from = q.from ?? addDays(to, -DEFAULT_DAYS);
    checkRange(from, to);
    const mine = (e: { client_id?: unknown; user_id?: unknown }) => (q.clientId ? e.client_id === q.clientId : e.user_id === q.userId);

    const raw: RawEvent[] = [];
    // raw objects are filed by UTC day of receipt: from the day before the range to 3 days after it
    for (const date of datesBetween(addDays(from, -1), addDays(to, LATE_DAYS))) {
      for (const o of await this.deps.store.list(rawDayPrefix({ tenantId, propertyId: q.propertyId }, date))) {
        const body = await this.deps.store.get(o.key);
        if (!body) continue;
        for (const line of gunzipSync(body).toString('utf8').split('\n')) {
          if (!line || !line.includes(q.clientId ?? q.userId ?? '')) continue;
          const e = JSON.parse(line) as RawEvent;
          if (mine(e)) raw.push(e);
        }
      }
    }
    raw.sort((a, b) => (a.client_ts ?? a.received_at) - (b.client_ts ?? b.received_at) || a.received_at - b.received_at);

    const parts = await this.deps.pipeline.partitionsBetween(q.propertyId, addDays(from, -1), addDays(to, 1));
    const { events: transformed, sessions } = await this.transformed(parts, q.clientId ? 'client_id' : 'user_id', (q.clientId ?? q.userId)!);
    const byId = new Map(transformed.map((t) => [String(t.event_id), t]));
    // the property's internal-traffic filter now (what the transform drops: retroactive rules)
    const internal = internalExclusion(property.settings.internalTraffic);

    const firstCopy = new Map<string, RawEvent>();
    for (const e of raw) {
      const seen = firstCopy.get(e.event_id);
      if (!seen || e.received_at < seen.received_at) firstCopy.set(e.event_id, e);
    }
    const events: InspectedEvent[] = raw.map((e) => {
      const t = byId.get(e.event_id);
      const eventMs = e.client_ts ?? e.received_at;
      const base = {
        eventId: e.event_id,
        name: e.name,
        eventTime: new Date(eventMs).toISOString(),
        receivedAt: new Date(e.received_at).toISOString(),
        protocol: e.protocol,
        url: e.url,
        sessionKey: t ? String(t.session_key) : null,
        localDate: t ? String(t.local_date) : null,
      };
      if (firstCopy.get(e.event_id) !== e)
        return {
          ...base,
          verdict: 'duplicate',
          why: `a later copy of event ${e.event_id} (received ${new Date(firstCopy.get(e.event_id)!.received_at).toISOString()}): counted once`,
        };
      if (!t) {
        const local = new Date(eventMs).toISOString().slice(0, 10);
        if (local < from || local > to) return { ...base, verdict: 'outside_range', why: 'its event time is outside the range asked for' };
        if (internal?.(e.ip_trunc, e.traffic_type ?? null))
          return {
            ...base,
            verdict: 'internal_traffic',
            why: e.traffic_type
              ? `internal traffic (traffic_type ${e.traffic_type}, stamped at ingest): the property's internal-traffic filter is active, so it is left out`
              : `internal traffic (its truncated IP ${e.ip_trunc} is in one of the property's ranges): left out once its dates are transformed or replayed`,
          };
        return { ...base, verdict: 'not_yet_transformed', why: 'in the raw zone, not in a transformed partition yet (the next transform run adds it)' };
      }
      if (t.is_bot)
        return {
          ...base,
          verdict: 'bot',
          why:
            t.bot_reason === 'custom_pattern'
              ? "flagged as a bot by one of the property's own bot patterns: kept, never counted in reports"
              : `flagged as a bot (${t.bot_reason ?? 'user agent'}): kept, never counted in reports`,
        };
      return { ...base, verdict: 'counted', why: t.is_key_event ? 'counted, as a key event' : 'counted' };
    });

    const letters = await this.deps.deadLetters.forVisitor(q.propertyId, from, addDays(to, LATE_DAYS), mine);
    for (const l of letters.slice(-MAX_EVENTS)) {
      const p = (l.payload ?? {}) as Partial<RawEvent>;
      events.push({
        eventId: typeof p.event_id === 'string' ? p.event_id : null,
        name: typeof p.name === 'string' ? p.name : '(unparsed)',
        eventTime: new Date(typeof p.client_ts === 'number' ? p.client_ts : l.received_at).toISOString(),
        receivedAt: new Date(l.received_at).toISOString(),
        protocol: l.protocol,
        url: typeof p.url === 'string' ? p.url : null,
        verdict: 'dead_letter',
        why: `refused at ingest: ${l.reason} (${l.detail})`,
        sessionKey: null,
        localDate: null,
      });
    }
    return {
      propertyId: q.propertyId,
      clientId: q.clientId ?? null,
      userId: q.userId ?? null,
      from,
      to,
      events: events.slice(-MAX_EVENTS),
      sessions,
      notes: ['Events still in the event log (not yet archived to the raw zone, normally under a minute old) are not shown.'],
    };
  }

  private async transformed(parts: Awaited<ReturnType<ReplayPipeline['partitionsBetween']>>, column: 'client_id' | 'user_id', id: string) {
    const dir = await mkdtemp(join(this.deps.tempDir ?? tmpdir(), 'tally-inspect-'));
    const instance = await DuckDBInstance.create(':memory:', { threads: '1', autoinstall_known_extensions: 'false' });
    const conn = await instance.connect();
    try {
      const query = async (table: 'events' | 'sessions', order: string) => {
        const files = await localCopies(
          this.deps.store,
          dir,
          table,
          parts.filter((p) => p.table === table).flatMap((p) => p.keys),
        );
        if (!files.length) return [];
        const reader = await conn.runAndReadAll(
          `SELECT * EXCLUDE (tenant_id, property_id) FROM read_parquet(${list(files)}) WHERE ${column} = $1 ORDER BY ${order}`,
          [id],
        );
        return reader.getRowObjectsJson() as Record<string, unknown>[];
      };
      return { events: await query('events', 'event_ms, event_id'), sessions: await query('sessions', 'session_start_ms, session_key') };
    } finally {
      conn.closeSync();
      instance.closeSync();
      await rm(dir, { recursive: true, force: true });
    }
  }
}
