import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { TallyError } from '../infra/errors.js';
import type { Db } from '../infra/metadata/db.js';
import { metrics } from '../infra/metrics/metrics.js';
import type { EventLog, LogRecordIn } from '../infra/event-log/event-log.port.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { DeadLetter } from '../domain/raw-event.js';
import { rawDayPrefix } from '../domain/transformed-schema.js';
import { addDays, datesBetween } from '../domain/time-zone.js';
import { checkRange } from './replay.service.js';
import type { AuditWriter, PropertyLookup, Readmit, RedriveUsage, SupportActor } from './support.ports.js';

/** Without `since`, a listing looks this many days back. */
const DEFAULT_DAYS = 30;
const SAMPLES_PER_REASON = 5;
const APPEND_BATCH = 500;

export interface DeadLetterQuery {
  propertyId: string;
  reason?: string;
  /** UTC dates of receipt, inclusive. */
  since?: string;
  until?: string;
}

export interface DeadLetterSample {
  letterId: string;
  receivedAt: string;
  reason: string;
  detail: string;
  protocol: string;
  payload: unknown;
}

export interface DeadLetterListing {
  propertyId: string;
  since: string;
  until: string;
  total: number;
  byReason: { reason: string; count: number; samples: DeadLetterSample[] }[];
}

export interface RedriveInput {
  propertyId: string;
  /** Only letters refused under this reason. */
  reason: string;
  from?: string;
  to?: string;
  /** Why support redrives (the audit log keeps it). */
  note?: string;
}

export interface RedriveResult {
  propertyId: string;
  reason: string;
  from: string;
  to: string;
  letters: number;
  appended: number;
  alreadyRedriven: number;
  stillRefused: { reason: string; count: number }[];
}

interface KeptLetter {
  id: string;
  letter: DeadLetter;
}

/**
 * Dead letters as the archiver keeps them (`deadletter/tenant=T/property=P/dt=<UTC day of
 * receipt>/…`): counted by reason with samples, and re-driven — each kept payload through today's
 * ingest rules (`Readmit`, wired from src/ingest) and appended to the event log's raw output like
 * any accepted event. A letter's id is a hash of its kept record; its event gets the client's event
 * id, else one derived from that hash, so the same letter always becomes the same event. Letters
 * already redriven (`redriven_letters`) are not appended again.
 */
export class DeadLetterService {
  constructor(
    private readonly deps: {
      db: Db;
      store: ObjectStore;
      log: EventLog;
      properties: PropertyLookup;
      readmit: Readmit;
      audit: AuditWriter;
      /** Counts the events a redrive appends in usage (absent: not counted). */
      usage?: RedriveUsage;
    },
  ) {}

  async list(q: DeadLetterQuery): Promise<DeadLetterListing> {
    const { tenantId, since, until } = await this.scope(q.propertyId, q.since, q.until);
    const byReason = new Map<string, { count: number; samples: DeadLetterSample[] }>();
    let total = 0;
    for await (const { id, letter } of this.letters(tenantId, q.propertyId, since, until)) {
      if (q.reason && letter.reason !== q.reason) continue;
      total++;
      let r = byReason.get(letter.reason);
      if (!r) byReason.set(letter.reason, (r = { count: 0, samples: [] }));
      r.count++;
      if (r.samples.length < SAMPLES_PER_REASON)
        r.samples.push({
          letterId: id,
          receivedAt: new Date(letter.received_at).toISOString(),
          reason: letter.reason,
          detail: letter.detail,
          protocol: letter.protocol,
          payload: letter.payload,
        });
    }
    return {
      propertyId: q.propertyId,
      since,
      until,
      total,
      byReason: [...byReason.entries()].sort((a, b) => b[1].count - a[1].count).map(([reason, r]) => ({ reason, ...r })),
    };
  }

  async redrive(input: RedriveInput, actor: SupportActor, onProgress: (done: number, total: number) => void = () => undefined): Promise<RedriveResult> {
    if (!input.reason) throw new TallyError('invalid_argument', 'reason: the dead-letter reason to redrive', { reason: 'reason_required' });
    const { tenantId, organizationId, since, until } = await this.scope(input.propertyId, input.from, input.to);
    const matching: KeptLetter[] = [];
    for await (const l of this.letters(tenantId, input.propertyId, since, until)) if (l.letter.reason === input.reason) matching.push(l);
    const done = await this.alreadyRedriven(
      input.propertyId,
      matching.map((l) => l.id),
    );
    const stillRefused = new Map<string, number>();
    let appended = 0;
    let batch: { record: LogRecordIn; letterId: string; eventId: string }[] = [];
    const flush = async () => {
      if (!batch.length) return;
      await this.deps.log.append(
        'raw-events',
        batch.map((b) => b.record),
      );
      // only after the append is durable: a crash in between redrives these again (same event ids);
      // usage counts the letters this redrive is the first to record, so a concurrent one never counts them twice
      await this.deps.db.transaction(async (tx) => {
        const recorded = await tx('redriven_letters')
          .insert(batch.map((b) => ({ property_id: input.propertyId, letter_id: b.letterId, event_id: b.eventId })))
          .onConflict(['property_id', 'letter_id'])
          .ignore()
          .returning('letter_id');
        if (recorded.length && this.deps.usage) await this.deps.usage(tx, { tenantId, propertyId: input.propertyId, at: Date.now(), events: recorded.length });
      });
      appended += batch.length;
      batch = [];
    };
    for (const [i, { id, letter }] of matching.entries()) {
      if (!done.has(id)) {
        const r = await this.deps.readmit(letter, eventIdOf(id));
        if ('refused' in r) stillRefused.set(r.refused, (stillRefused.get(r.refused) ?? 0) + 1);
        else {
          batch.push({ record: { key: r.key, value: Buffer.from(JSON.stringify(r.event)) }, letterId: id, eventId: r.event.event_id });
          if (batch.length >= APPEND_BATCH) await flush();
        }
      }
      onProgress(i + 1, matching.length);
    }
    await flush();
    const refusedCount = [...stillRefused.values()].reduce((a, b) => a + b, 0);
    metrics.redrive('appended', input.reason, appended);
    metrics.redrive('still_refused', input.reason, refusedCount);
    const result: RedriveResult = {
      propertyId: input.propertyId,
      reason: input.reason,
      from: since,
      to: until,
      letters: matching.length,
      appended,
      alreadyRedriven: done.size,
      stillRefused: [...stillRefused.entries()].map(([reason, count]) => ({ reason, count })),
    };
    await this.deps.audit(
      { ...actor, reason: input.note ?? actor.reason ?? null },
      { organizationId, action: 'support.dead_letters.redrive', targetType: 'property', targetId: input.propertyId, after: result },
    );
    return result;
  }

  /** A visitor's kept letters (those whose payload names them), received from `since` to `until`. */
  async forVisitor(
    propertyId: string,
    since: string,
    until: string,
    mine: (payload: { client_id?: unknown; user_id?: unknown }) => boolean,
  ): Promise<DeadLetter[]> {
    const { tenantId } = await this.scope(propertyId, since, until);
    const out: DeadLetter[] = [];
    for await (const { letter } of this.letters(tenantId, propertyId, since, until)) {
      const p = letter.payload;
      if (p && typeof p === 'object' && mine(p as Record<string, unknown>)) out.push(letter);
    }
    return out;
  }

  private async scope(propertyId: string, since?: string, until?: string) {
    const property = await this.deps.properties(propertyId);
    if (!property) throw new TallyError('not_found', `no property ${propertyId}`, { reason: 'property_not_found' });
    const today = new Date().toISOString().slice(0, 10);
    const to = until ?? today;
    const from = since ?? addDays(to, -DEFAULT_DAYS);
    checkRange(from, to);
    return { tenantId: property.settings.tenantId, organizationId: property.organizationId, since: from, until: to };
  }

  /** Every kept letter of the property received from `since` to `until` (UTC dates), in key order. */
  private async *letters(tenantId: string, propertyId: string, since: string, until: string): AsyncGenerator<KeptLetter> {
    for (const date of datesBetween(since, until)) {
      for (const o of await this.deps.store.list(rawDayPrefix({ zone: 'deadletter', tenantId, propertyId }, date))) {
        const body = await this.deps.store.get(o.key);
        if (!body) continue;
        const text = (o.key.endsWith('.gz') ? gunzipSync(body) : body).toString('utf8');
        for (const line of text.split('\n')) {
          if (!line) continue;
          let letter: DeadLetter;
          try {
            letter = JSON.parse(line) as DeadLetter;
          } catch {
            continue;
          }
          if (letter.property_id !== propertyId) continue;
          yield { id: createHash('sha256').update(line).digest('hex'), letter };
        }
      }
    }
  }

  private async alreadyRedriven(propertyId: string, ids: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += 1000) {
      const rows = await this.deps
        .db('redriven_letters')
        .where({ property_id: propertyId })
        .whereIn('letter_id', ids.slice(i, i + 1000))
        .select('letter_id');
      for (const r of rows) out.add(r.letter_id);
    }
    return out;
  }
}

/** A UUID (version 8, RFC 9562's custom layout) from a letter id: the same letter, the same event id. */
export function eventIdOf(letterId: string): string {
  const h = letterId.slice(0, 32).split('');
  h[12] = '8';
  h[16] = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}
