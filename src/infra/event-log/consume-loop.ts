import { TallyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ConsumeOptions, LogBatch } from './event-log.port.js';

/**
 * What both event logs (local files, Kafka) do the same way when consuming: the batch options,
 * the stop signal their loops sleep on, and handing a batch to the handler until it is handled.
 * Each log keeps only what is its own: reading (segment files; kafkajs fetches) and committing.
 */

export const BACKOFF_MIN_MS = 100;
export const BACKOFF_MAX_MS = 5_000;

export const nextBackoff = (ms: number): number => Math.min(ms * 2, BACKOFF_MAX_MS);

/** `consume()` options with their defaults; throws invalid_argument on a bad batch size. */
export function batchOptions(options: ConsumeOptions): { maxBatchRecords: number; maxWaitMs: number } {
  const maxBatchRecords = options.maxBatchRecords ?? 5000;
  if (!Number.isInteger(maxBatchRecords) || maxBatchRecords < 1) {
    throw new TallyError('invalid_argument', 'maxBatchRecords must be a positive integer');
  }
  return { maxBatchRecords, maxWaitMs: Math.max(0, options.maxWaitMs ?? 50) };
}

/** Set once by `stop()`; every wait of a consumer loop ends as soon as it is. */
export class StopSignal {
  stopped = false;
  private readonly wakers = new Set<() => void>();

  stop(): void {
    this.stopped = true;
    for (const wake of [...this.wakers]) wake();
  }

  /** Calls `wake` on stop until `forget` is called (for waits of the log's own, e.g. on an append). */
  onStop(wake: () => void): { forget(): void } {
    this.wakers.add(wake);
    return { forget: () => void this.wakers.delete(wake) };
  }

  /** Resolves true after `ms`, or false as soon as stopped. */
  sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve(false);
      const done = (): void => {
        clearTimeout(timer);
        sub.forget();
        resolve(!this.stopped);
      };
      const timer = setTimeout(done, ms);
      const sub = this.onStop(done);
    });
  }
}

/**
 * Offers `batch` to `handler` until it resolves, backing off 100 ms doubling to 5 s between tries.
 * True once handled; false when stopped first or when `stillOurs` says the batch is no longer this
 * consumer's to handle (Kafka: a rebalance took the partition). `beforeRetry` runs between tries
 * (Kafka: a heartbeat, so the group does not evict a consumer whose handler keeps failing).
 */
export async function handleUntilDone(
  handler: (batch: LogBatch) => Promise<void>,
  batch: LogBatch,
  signal: StopSignal,
  logger: Pick<Logger, 'warn'> | undefined,
  opts: { stillOurs?: () => boolean; beforeRetry?: () => Promise<void> } = {},
): Promise<boolean> {
  let delay = BACKOFF_MIN_MS;
  for (;;) {
    try {
      await handler(batch);
      return true;
    } catch (err) {
      logger?.warn(
        { err, output: batch.output, partition: batch.partition, offset: batch.records[0].offset, retryInMs: delay },
        'event log handler failed; the batch will be offered again',
      );
    }
    if (!(await signal.sleep(delay)) || (opts.stillOurs && !opts.stillOurs())) return false;
    await opts.beforeRetry?.();
    delay = nextBackoff(delay);
  }
}
