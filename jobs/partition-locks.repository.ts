import { randomUUID } from 'node:crypto';
import { TallyError } from '../src/infra/errors.js';
import type { Db } from '../src/infra/metadata/db.js';

/** A held lock on a property's local dates; renewed while held, released by `release`. */
export interface DateRangeLock {
  readonly holder: string;
  release(): Promise<void>;
}

/** The last date a lock can name: "this date and every later one". */
export const OPEN_END = '9999-12-31';

const TTL_MS = 60_000;

/**
 * Locks on (property, local dates) in the metadata DB, shared by every process: a replay and the
 * scheduler's transform (and compaction) never rewrite the same partition at the same time. A
 * lock is a row naming a date range; two overlapping ranges of one property never both exist
 * (the table is locked while a range is checked and inserted). A holder renews its row every
 * TTL/3; a crashed holder's row expires after the TTL.
 */
export class PartitionLocks {
  constructor(
    private readonly db: Db,
    private readonly ttlMs = TTL_MS,
  ) {}

  /** The lock, or null when an overlapping range is held now (no waiting). */
  async tryAcquire(propertyId: string, from: string, to: string, holder: string): Promise<DateRangeLock | null> {
    const id = await this.db.transaction(async (tx) => {
      await tx.raw('LOCK TABLE partition_locks IN EXCLUSIVE MODE');
      await tx('partition_locks').where('expires_at', '<', tx.fn.now()).delete();
      const clash = await tx('partition_locks').where({ property_id: propertyId }).andWhere('from_date', '<=', to).andWhere('to_date', '>=', from).first('id');
      if (clash) return null;
      const [row] = await tx('partition_locks')
        .insert({ property_id: propertyId, from_date: from, to_date: to, holder, expires_at: new Date(Date.now() + this.ttlMs) })
        .returning('id');
      return String((row as { id: string | number }).id);
    });
    if (id === null) return null;
    const timer = setInterval(
      () => {
        void this.db('partition_locks')
          .where({ id })
          .update({ expires_at: new Date(Date.now() + this.ttlMs) })
          .catch(() => undefined);
      },
      Math.max(1_000, Math.floor(this.ttlMs / 3)),
    );
    timer.unref();
    return {
      holder,
      release: async () => {
        clearInterval(timer);
        await this.db('partition_locks').where({ id }).delete();
      },
    };
  }

  /** Waits (polling) until the range is free, up to `waitMs`; then TallyError('conflict', reason partitions_locked). */
  async acquire(propertyId: string, from: string, to: string, holder: string, waitMs: number): Promise<DateRangeLock> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const lock = await this.tryAcquire(propertyId, from, to, holder);
      if (lock) return lock;
      if (Date.now() >= deadline)
        throw new TallyError('conflict', `dates ${from}..${to} of property ${propertyId} are being rewritten by another run; try again later`, {
          reason: 'partitions_locked',
        });
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs `fn` under the lock, or returns null without running it when the range is held now. */
  async withLockIfFree<T>(propertyId: string, from: string, to: string, fn: () => Promise<T>): Promise<T | null> {
    const lock = await this.tryAcquire(propertyId, from, to, `job:${randomUUID()}`);
    if (!lock) return null;
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }
}
