import { SAMPLE_RECORD as VALUE } from './sample-record.js';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { EventLog } from '../src/infra/event-log/event-log.port.js';
import { KafkaEventLog } from '../src/infra/event-log/kafka.event-log.js';
import { LocalEventLog } from '../src/infra/event-log/local.event-log.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Concurrent callers, each appending one record at a time, as the collector does per request. */
const CALLERS = [1, 16, 64, 256];

async function load(log: EventLog, callers: number): Promise<{ appends_per_s: number; p50_ms: number; p99_ms: number }> {
  const latencies: number[] = [];
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; Date.now() < until; i++) {
        const t0 = performance.now();
        await log.append('raw-events', [{ key: `400000001:client-${c}-${i % 100}`, value: VALUE }]);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2));
  return { appends_per_s: Math.round(latencies.length / SECONDS), p50_ms: q(0.5), p99_ms: q(0.99) };
}

export async function run() {
  const brokers = process.env.KAFKA_BROKERS?.split(',');
  if (!brokers) throw new Error('KAFKA_BROKERS not set: run scripts/services up kafka and eval "$(scripts/services env)"');
  const id = randomUUID().slice(0, 8);
  const topics = { 'raw-events': `bench.${id}.raw-events`, 'dead-letter': `bench.${id}.dead-letter` } as const;
  const kafka = await KafkaEventLog.open({ brokers, clientId: 'tally-bench', topics, partitions: 4 });
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-bench-log-'));
  const local = await LocalEventLog.open({ dir, partitions: 4 });
  const rows: Record<string, unknown>[] = [];
  try {
    for (const callers of CALLERS) {
      const before = { ...kafka.stats };
      const k = await load(kafka, callers);
      const appends = kafka.stats.appends - before.appends;
      const requests = kafka.stats.produceRequests - before.produceRequests;
      const l = await load(local, callers);
      rows.push({
        callers,
        kafka_appends_per_s: k.appends_per_s,
        kafka_p50_ms: k.p50_ms,
        kafka_p99_ms: k.p99_ms,
        kafka_appends_per_request: Number((appends / Math.max(1, requests)).toFixed(1)),
        local_appends_per_s: l.appends_per_s,
        local_p50_ms: l.p50_ms,
        local_p99_ms: l.p99_ms,
      });
    }
  } finally {
    await kafka.close();
    await local.close();
    rmSync(dir, { recursive: true, force: true });
    const admin = new Kafka({ clientId: 'tally-bench', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
  }
  console.table(rows);
  return {
    seconds: SECONDS,
    record_bytes: VALUE.length,
    durability: 'kafka: acks=all, idempotent producer, one request in flight, single local broker; local: fsync per group commit',
    rows,
  };
}
