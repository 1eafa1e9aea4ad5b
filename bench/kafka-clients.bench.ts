import { SAMPLE_RECORD as VALUE } from './sample-record.js';
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel, type Admin } from 'kafkajs';
import { waitForTopics } from '../src/infra/event-log/kafka.event-log.js';
import { loadPlatformaticKafka, type PlatformaticKafka } from './platformatic-kafka.js';

/**
 * kafkajs against @platformatic/kafka in one harness: the same broker, fresh 4-partition topics per
 * case, idempotent producers with acks=all, the same record bytes and keys (both clients use
 * Java's murmur2 partitioner, so a key lands on the same partition), the same callers and batch
 * sizes. Two ways of producing:
 *  - direct: each caller awaits the client's send() of its batch, so sends overlap;
 *  - coalesced: what KafkaEventLog does, callers queue their batch and one produce request at a
 *    time carries everything queued (at most 512 KiB).
 * After each case the records in the topic are counted, so a send that was acknowledged but not
 * written shows as lost. Then each client reads the same CONSUME_RECORDS records back.
 * @platformatic/kafka is an optional install (see ./platformatic-kafka.ts): the bench says how.
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CALLERS = [1, 16, 64, 256];
const BATCHES = [1, 100];
const CONSUME_RECORDS = Number(process.env.BENCH_CONSUME_RECORDS ?? 200_000);
const PARTITIONS = 4;
const MAX_REQUEST_BYTES = 512 * 1024;
const SEND_TIMEOUT_MS = 10_000;

interface Msg {
  key: Buffer;
  value: Buffer;
}

interface ClientUnderTest {
  name: string;
  /** One send() of the client: idempotent producer, acks=all. */
  send(topic: string, messages: Msg[]): Promise<void>;
  /** Reads `n` records of `topic` from its start as the new group `groupId`: ms to the first record and to the n-th. */
  consume(topic: string, groupId: string, n: number): Promise<{ firstMs: number; lastMs: number }>;
  close(): Promise<void>;
}

async function kafkajsClient(brokers: string[]): Promise<ClientUnderTest> {
  const retry = { retries: 4, initialRetryTime: 100, maxRetryTime: 1_000 };
  const kafka = new Kafka({ clientId: 'tally-bench-kafkajs', brokers, connectionTimeout: 1_000, requestTimeout: 10_000, retry, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry,
  });
  await producer.connect();
  return {
    name: 'kafkajs',
    async send(topic, messages) {
      await producer.send({ topic, messages, acks: -1 });
    },
    async consume(topic, groupId, n) {
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500, maxBytes: 10 << 20, maxBytesPerPartition: 1 << 20 });
      const t0 = performance.now();
      let firstMs = 0;
      let count = 0;
      let reached: (ms: number) => void = () => undefined;
      const done = new Promise<number>((resolve) => (reached = resolve));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: PARTITIONS,
        eachBatch: async ({ batch }) => {
          if (count === 0) firstMs = performance.now() - t0;
          count += batch.messages.length;
          if (count >= n) reached(performance.now() - t0);
        },
      });
      const lastMs = await done;
      await consumer.disconnect();
      return { firstMs, lastMs };
    },
    close: () => producer.disconnect(),
  };
}

async function platformaticClient(
  { Producer, Consumer, ProduceAcks, MessagesStreamModes, compatibilityPartitioner }: PlatformaticKafka,
  brokers: string[],
): Promise<ClientUnderTest> {
  const producer = new Producer({
    clientId: 'tally-bench-platformatic',
    bootstrapBrokers: brokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    partitioner: compatibilityPartitioner,
    autocreateTopics: false,
    retries: 4,
    retryDelay: 250,
  });
  return {
    name: 'platformatic',
    async send(topic, messages) {
      await producer.send({ messages: messages.map((m) => ({ topic, key: m.key, value: m.value })) });
    },
    async consume(topic, groupId, n) {
      const consumer = new Consumer({
        clientId: 'tally-bench-platformatic',
        groupId,
        bootstrapBrokers: brokers,
        maxWaitTime: 500,
        maxBytes: 10 << 20,
        maxBytesPerPartition: 1 << 20,
        autocommit: false,
      });
      const t0 = performance.now();
      let firstMs = 0;
      let count = 0;
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
      const lastMs = await new Promise<number>((resolve, reject) => {
        stream.on('error', reject);
        stream.on('data', () => {
          if (count++ === 0) firstMs = performance.now() - t0;
          if (count === n) resolve(performance.now() - t0);
        });
      });
      await stream.close();
      await consumer.close(true);
      return { firstMs, lastMs };
    },
    close: () => producer.close(),
  };
}

/** KafkaEventLog's append path: batches queued while a request is in flight share the next one. */
class Coalescer {
  requests = 0;
  private pending: { messages: Msg[]; bytes: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private busy = false;

  constructor(private readonly send: (messages: Msg[]) => Promise<void>) {}

  append(messages: Msg[]): Promise<void> {
    const bytes = messages.reduce((n, m) => n + m.key.length + m.value.length + 64, 0);
    return new Promise((resolve, reject) => {
      this.pending.push({ messages, bytes, resolve, reject });
      if (!this.busy) {
        this.busy = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length) {
      let n = 0;
      let bytes = 0;
      while (n < this.pending.length && (n === 0 || bytes + this.pending[n].bytes <= MAX_REQUEST_BYTES)) bytes += this.pending[n++].bytes;
      const taken = this.pending.splice(0, n);
      this.requests++;
      try {
        await this.send(taken.flatMap((t) => t.messages));
        for (const t of taken) t.resolve();
      } catch (err) {
        for (const t of taken) t.reject(err);
      }
    }
    this.busy = false;
  }
}

interface LoadResult {
  acked: number;
  failedCalls: number;
  firstError: string | null;
  p50: number;
  p99: number;
}

async function load(send: (messages: Msg[]) => Promise<void>, callers: number, batch: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let acked = 0;
  let failedCalls = 0;
  let firstError: string | null = null;
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; Date.now() < until; i++) {
        const messages = Array.from({ length: batch }, (_, j) => ({ key: Buffer.from(`400000001:client-${c}-${(i * batch + j) % 100}`), value: VALUE }));
        const t0 = performance.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            send(messages),
            new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no acknowledgement within ${SEND_TIMEOUT_MS} ms`)), SEND_TIMEOUT_MS))),
          ]);
          latencies.push(performance.now() - t0);
          acked += batch;
        } catch (err) {
          failedCalls++;
          firstError ??= describeError(err);
        } finally {
          clearTimeout(timer);
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const q = (p: number) => (latencies.length ? Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2)) : null);
  return { acked, failedCalls, firstError, p50: q(0.5) ?? 0, p99: q(0.99) ?? 0 };
}

function describeError(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: unknown[]; cause?: unknown };
  const inner = [...(e.errors ?? []), ...(e.cause ? [e.cause] : [])].map((x) => describeError(x));
  return [...new Set([e.code, e.message ?? String(err), ...inner].filter(Boolean))].join(' / ').slice(0, 300);
}

async function createTopic(admin: Admin, topic: string): Promise<void> {
  await admin.createTopics({ waitForLeaders: false, topics: [{ topic, numPartitions: PARTITIONS }] });
  await waitForTopics(admin, [topic], { created: true });
}

async function recordsIn(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

export async function run() {
  const brokers = process.env.KAFKA_BROKERS?.split(',');
  if (!brokers) throw new Error('KAFKA_BROKERS not set: run scripts/services up kafka and eval "$(scripts/services env)"');
  const platformatic = await loadPlatformaticKafka();
  const id = randomUUID().slice(0, 8);
  const admin = new Kafka({ clientId: 'tally-bench', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const clients = [await kafkajsClient(brokers), await platformaticClient(platformatic.kafka, brokers)];
  const rows: Record<string, unknown>[] = [];
  const consumeRows: Record<string, unknown>[] = [];
  const errors: Record<string, string> = {};
  const topics: string[] = [];
  const groups: string[] = [];
  try {
    for (const mode of ['coalesced', 'direct'] as const) {
      for (const batch of BATCHES) {
        for (const callers of CALLERS) {
          const row: Record<string, unknown> = { mode, batch, callers };
          for (const client of clients) {
            const topic = `bench.clients.${id}.${client.name}.${mode}.b${batch}.c${callers}`;
            topics.push(topic);
            await createTopic(admin, topic);
            const coalescer = new Coalescer((m) => client.send(topic, m));
            const r = await load(mode === 'direct' ? (m) => client.send(topic, m) : (m) => coalescer.append(m), callers, batch);
            const inLog = await recordsIn(admin, topic);
            const p = client.name === 'kafkajs' ? 'kjs' : 'plt';
            row[`${p}_msgs_per_s`] = Math.round(r.acked / SECONDS);
            row[`${p}_p50_ms`] = r.p50;
            row[`${p}_p99_ms`] = r.p99;
            row[`${p}_failed_calls`] = r.failedCalls;
            // at least this many acknowledged records are not in the topic (a failed call may still have written)
            row[`${p}_lost`] = Math.max(0, r.acked - inLog);
            if (mode === 'coalesced') row[`${p}_msgs_per_request`] = Number((r.acked / Math.max(1, coalescer.requests)).toFixed(1));
            if (r.firstError) errors[`${client.name} ${mode} batch=${batch} callers=${callers}`] = r.firstError;
          }
          row.ratio_plt_to_kjs = Number(((row.plt_msgs_per_s as number) / Math.max(1, row.kjs_msgs_per_s as number)).toFixed(3));
          rows.push(row);
          process.stdout.write(`${JSON.stringify(row)}\n`);
        }
      }
    }

    // the same records for both readers, written once by kafkajs through the coalesced path
    const topic = `bench.clients.${id}.consume`;
    topics.push(topic);
    await createTopic(admin, topic);
    const writer = new Coalescer((m) => clients[0].send(topic, m));
    const chunks = Math.ceil(CONSUME_RECORDS / 1000);
    for (let c = 0; c < chunks; c += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, chunks - c) }, (_, k) =>
          writer.append(
            Array.from({ length: Math.min(1000, CONSUME_RECORDS - (c + k) * 1000) }, (_, j) => ({
              key: Buffer.from(`400000001:client-${k}-${j % 100}`),
              value: VALUE,
            })),
          ),
        ),
      );
    }
    const n = await recordsIn(admin, topic);
    // two rounds each, alternating; the second shows the warmed-up reader
    for (const round of [1, 2]) {
      for (const client of clients) {
        const group = `bench.clients.${id}.${client.name}.${round}`;
        groups.push(group);
        const r = await client.consume(topic, group, n);
        consumeRows.push({
          client: client.name,
          round,
          records: n,
          first_record_ms: Math.round(r.firstMs),
          total_ms: Math.round(r.lastMs),
          msgs_per_s_after_first: Math.round((n - 1) / ((r.lastMs - r.firstMs) / 1000)),
        });
      }
    }
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    // only now: a kafkajs producer refreshes the metadata of every topic it has sent to, and fails once one is gone
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
  }
  console.table(rows);
  console.table(consumeRows);
  if (Object.keys(errors).length) console.table(Object.entries(errors).map(([where, error]) => ({ where, error })));
  return {
    seconds: SECONDS,
    record_bytes: VALUE.length,
    node: process.version,
    clients: {
      kafkajs: 'kafkajs 2 (idempotent, maxInFlightRequests 1)',
      platformatic: `@platformatic/kafka ${platformatic.version} (idempotent, which forces acks=all and one request in flight per connection)`,
    },
    durability: 'acks=all, idempotent producer, single local broker',
    rows,
    consume: consumeRows,
    first_errors: errors,
  };
}
