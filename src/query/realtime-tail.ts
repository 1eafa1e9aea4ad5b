import { hostname } from 'node:os';
import type { RawEvent } from '../domain/raw-event.js';
import type { EventLog, LogConsumer } from '../infra/event-log/event-log.port.js';
import { REALTIME_MINUTES, RealtimeWindow } from './realtime-window.js';

/**
 * Feeds a `RealtimeWindow` from the tail of the event log (`raw-events`, embedded log or Kafka):
 * realtime reads what the collector acknowledged, not the warehouse, so an event shows within a
 * fetch wait of its 2xx. Each api process is its own consumer group (`realtime.<host>`), since
 * each needs every partition; records appended before the window are skipped unparsed, so a
 * group that starts from the beginning of the log only pays a scan of it once.
 */
export class RealtimeTail {
  readonly window: RealtimeWindow;
  private consumer: LogConsumer | null = null;

  constructor(
    private readonly log: EventLog,
    opts: { window?: RealtimeWindow; group?: string; maxWaitMs?: number; onError?: (err: unknown) => void } = {},
  ) {
    this.window = opts.window ?? new RealtimeWindow();
    this.group = opts.group ?? `realtime.${hostname()}`;
    this.maxWaitMs = opts.maxWaitMs ?? 100;
    this.onError = opts.onError;
  }

  private readonly group: string;
  private readonly maxWaitMs: number;
  private readonly onError?: (err: unknown) => void;

  async start(): Promise<this> {
    this.consumer = await this.log.consume(
      'raw-events',
      this.group,
      async (batch) => {
        const now = Date.now();
        const oldest = now - (REALTIME_MINUTES + 1) * 60_000;
        for (const r of batch.records) {
          if (r.timestamp < oldest) continue;
          try {
            this.window.add(JSON.parse(r.value.toString('utf8')) as RawEvent, now);
          } catch (err) {
            // the collector wrote it, so this is not expected; one bad record must not stop the tail
            this.onError?.(err);
          }
        }
      },
      { maxWaitMs: this.maxWaitMs, maxBatchRecords: 5_000 },
    );
    return this;
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = null;
  }
}
