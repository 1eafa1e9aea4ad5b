import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { TallyError } from '../infra/errors.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import { readTail, type EventLog, type LogOutput } from '../infra/event-log/event-log.port.js';
import type { DeadLetter, RawEvent } from '../domain/raw-event.js';
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
/** The event log's tail is read up to this many records (all properties') per output, or for this long. */
const TAIL_MAX_RECORDS = 50_000;
const TAIL_TIMEOUT_MS = 5_000;

export type Verdict = 'counted' | 'bot' | 'duplicate' | 'internal_traffic' | 'not_yet_transformed' | 'outside_range' | 'dead_letter';

export interface InspectedEvent {
  eventId: string | null;
  name: string;
  eventTime: string;
  receivedAt: string;
  protocol: string;
  url: string | null;
  verdict: Verdict;
  /** Where it was found: the event log's tail (not yet archived), the raw zone, the dead-letter zone. */
  source: 'log' | 'raw' | 'deadletter';
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
  /** The event log's tail (records the archiver has not filed yet): records read, and whether all of it was. */
  logTail: { read: number; complete: boolean; maxRecords: number; timeoutMs: number } | null;
  notes: string[];
}

/** Where the inspector reads the event log's tail: records `group` (the archiver) has not committed. */
export interface LogTailSource {
  log: EventLog;
  group: string;
  maxRecords?: number;
  timeoutMs?: number;
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
      /** Absent: the log's tail is not read (a note says so). */
      tail?: LogTailSource;
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
    // the event log's tail: this property's records of the visitor not archived yet (never another property's)
    const ours = (e: { tenant_id?: unknown; property_id?: unknown }) => e.tenant_id === tenantId && e.property_id === q.propertyId;
    const tail = this.deps.tail ? await this.readTail('raw-events', q.clientId ?? q.userId!) : null;
    const inZone = new Set(raw.map((e) => `${e.event_id}@${e.received_at}`));
    const fromLog = new Set<RawEvent>();
    for (const v of tail?.values ?? []) {
      const e = v as RawEvent;
      // an archived batch not yet committed (at least once) is in both: shown once, from the zone
      if (!ours(e) || !mine(e) || inZone.has(`${e.event_id}@${e.received_at}`)) continue;
      fromLog.add(e);
      raw.push(e);
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
        source: fromLog.has(e) ? ('log' as const) : ('raw' as const),
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
        return {
          ...base,
          verdict: 'not_yet_transformed',
          why: fromLog.has(e)
            ? 'in the event log, not yet archived to the raw zone (the archiver files it within seconds, then the next transform run adds it)'
            : 'in the raw zone, not in a transformed partition yet (the next transform run adds it)',
        };
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

    const letters: (DeadLetter & { source: 'log' | 'deadletter' })[] = (
      await this.deps.deadLetters.forVisitor(q.propertyId, from, addDays(to, LATE_DAYS), mine)
    ).map((l) => ({ ...l, source: 'deadletter' as const }));
    // refusals still in the log (the dead-letter output's tail)
    const letterTail = this.deps.tail ? await this.readTail('dead-letter', q.clientId ?? q.userId!) : null;
    for (const v of letterTail?.values ?? []) {
      const l = v as DeadLetter;
      if (ours(l) && mine((l.payload ?? {}) as Partial<RawEvent>)) letters.push({ ...l, source: 'log' });
    }
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
        source: l.source,
        why: `refused at ingest: ${l.reason} (${l.detail})${l.source === 'log' ? '; still in the event log, not yet archived to the dead-letter zone' : ''}`,
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
      logTail: tail && letterTail ? { read: tail.read + letterTail.read, complete: tail.complete && letterTail.complete, ...this.tailBounds() } : null,
      notes: tailNotes(tail, letterTail, this.tailBounds()),
    };
  }

  private tailBounds() {
    return { maxRecords: this.deps.tail?.maxRecords ?? TAIL_MAX_RECORDS, timeoutMs: this.deps.tail?.timeoutMs ?? TAIL_TIMEOUT_MS };
  }

  /** The records of one output's tail that mention the visitor's id, parsed (the caller checks property and visitor). */
  private async readTail(output: LogOutput, id: string): Promise<{ values: unknown[]; read: number; complete: boolean }> {
    const t = this.deps.tail!;
    const { records, complete } = await readTail(t.log, output, t.group, this.tailBounds());
    const values: unknown[] = [];
    for (const r of records) {
      if (!r.value.includes(id)) continue;
      try {
        values.push(JSON.parse(r.value.toString('utf8')));
      } catch {
        // not ours to judge: the archiver dead-letters what it cannot parse
      }
    }
    return { values, read: records.length, complete };
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

function tailNotes(
  tail: { read: number; complete: boolean } | null,
  letters: { read: number; complete: boolean } | null,
  bounds: { maxRecords: number; timeoutMs: number },
): string[] {
  if (!tail || !letters) return ['The event log was not read here: events not yet archived to the raw zone (normally under a minute old) are not shown.'];
  if (tail.complete && letters.complete) return [];
  return [
    `The event log's tail was read only in part (${tail.read + letters.read} records, bounded by ${bounds.maxRecords} records per output or ${bounds.timeoutMs} ms): events of this visitor not yet archived may be missing.`,
  ];
}
