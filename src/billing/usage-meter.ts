import type { Db } from '../infra/metadata/db.js';
import type { Logger } from '../infra/logger.js';

/**
 * Counts accepted and dead-lettered events per property and hour in memory and adds them to
 * `usage_hourly` every few seconds: the numbers billing and quotas read, without a DB write per
 * request. A failed flush keeps the counts for the next one.
 */
export class UsageMeter {
  private pending = new Map<string, { tenantId: string; propertyId: string; hour: number; events: number; deadLetters: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly flushMs = 5_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  record(tenantId: string, propertyId: string, at: number, events: number, deadLetters: number): void {
    const hour = at - (at % 3_600_000);
    const k = `${propertyId}|${hour}`;
    const e = this.pending.get(k);
    if (e) {
      e.events += events;
      e.deadLetters += deadLetters;
    } else this.pending.set(k, { tenantId, propertyId, hour, events, deadLetters });
  }

  async flush(): Promise<void> {
    if (!this.pending.size) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.db.transaction((tx) => addUsage(tx, batch));
    } catch (err) {
      this.log.warn({ err }, 'usage flush failed; keeping counts for the next flush');
      for (const b of batch) this.record(b.tenantId, b.propertyId, b.hour, b.events, b.deadLetters);
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}

export interface UsageRow {
  tenantId: string;
  propertyId: string;
  /** Any time in the hour (ms); stored as the hour's start. */
  hour: number;
  events: number;
  deadLetters: number;
}

/** Adds to `usage_hourly` (on `db`, which may be the caller's transaction): the one writer of its counts. */
export async function addUsage(db: Db, rows: UsageRow[]): Promise<void> {
  for (const b of rows) {
    await db.raw(
      `INSERT INTO usage_hourly (tenant_id, property_id, hour, events, dead_letters) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (property_id, hour) DO UPDATE SET events = usage_hourly.events + EXCLUDED.events,
         dead_letters = usage_hourly.dead_letters + EXCLUDED.dead_letters`,
      [b.tenantId, b.propertyId, new Date(b.hour - (b.hour % 3_600_000)).toISOString(), b.events, b.deadLetters],
    );
  }
}
