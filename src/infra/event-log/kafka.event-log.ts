import { Kafka, Partitioners, type Admin, type EachBatchPayload, type Message, type Producer, type TopicMessages } from 'kafkajs';
import { TallyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { randomUUID } from 'node:crypto';
import type { ConsumeOptions, EventLog, LogBatch, LogConsumer, LogOutput, LogRecord, LogRecordIn, ReadBounds } from './event-log.port.js';
import { LatencySample } from './latency-sample.js';
import { batchOptions, handleUntilDone, StopSignal } from './consume-loop.js';
import { kafkaLevelOf, logEntry } from './kafka-log-adapter.js';
import { kafkaGroupId, retryRetriable, unavailable, waitForTopics } from './kafka-topics.js';

export { kafkaGroupId, waitForTopics } from './kafka-topics.js';

const OUTPUTS: readonly LogOutput[] = ['raw-events', 'dead-letter'];
/** Under the broker's default message.max.bytes (1 MiB), which bounds one partition's record batch. */
const DEFAULT_MAX_REQUEST_BYTES = 512 * 1024;
/** Per-record framing overhead in a Kafka record batch, roughly; only used to size requests. */
const RECORD_OVERHEAD_BYTES = 64;
/** A fetch's bytes per partition: about `records` records of ~1 KiB, from kafkajs' 1 MiB up to 16 MiB. */
const fetchBytesPerPartition = (records: number): number => Math.min(Math.max(records * 1024, 1 << 20), 16 << 20);
/** Bytes of one fetch over all partitions (kafkajs' default is 10 MiB). */
const MAX_FETCH_BYTES = 64 << 20;
/** Bounded retries: ~2.5 s of backoff before an append against a dead broker gives up. */
const RETRY = { retries: 4, initialRetryTime: 100, maxRetryTime: 1_000 };

export interface KafkaEventLogOptions {
  brokers: string[];
  clientId: string;
  /** Output name -> topic. */
  topics: Record<LogOutput, string>;
  /** Partitions of topics this log creates; existing topics keep theirs. */
  partitions: number;
  /** Of created topics; default: the broker's default.replication.factor. */
  replicationFactor?: number;
  logger?: Logger;
  /** Create missing topics with `partitions` (default true); when false, missing topics fail open(). */
  createTopics?: boolean;
  /** An append that is not acknowledged within this rejects as unavailable. Default 5000. */
  appendTimeoutMs?: number;
  /** Upper bound on the records of one produce request. Default 512 KiB. */
  maxRequestBytes?: number;
}

/** Counters of the append path, to see how appends are coalesced. */
export interface KafkaEventLogStats {
  appends: number;
  records: number;
  produceRequests: number;
  failedProduceRequests: number;
  producersCreated: number;
}

interface PendingAppend {
  topic: string;
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The event log on Apache Kafka (kafkajs). Appends from concurrent callers are coalesced into
 * produce requests by an idempotent producer (acks=all, one request in flight); a failed request
 * replaces the producer, since kafkajs rolls its sequence numbers back and a reused sequence could
 * make the broker drop the next batch as a duplicate. Each consume() is one kafkajs consumer of
 * group `<group>.<topic>`, committing after the handler resolves.
 */
export class KafkaEventLog implements EventLog {
  readonly partitionCount: number;
  readonly stats: KafkaEventLogStats = { appends: 0, records: 0, produceRequests: 0, failedProduceRequests: 0, producersCreated: 0 };
  /** Durations of acknowledged produce requests (sendBatch until acks=all), since open. */
  readonly produceLatency = new LatencySample();

  private readonly appendTimeoutMs: number;
  private readonly maxRequestBytes: number;
  private producer: Promise<Producer> | null = null;
  private pending: PendingAppend[] = [];
  private scheduled: NodeJS.Immediate | null = null;
  private flushing: Promise<void> | null = null;
  private closing = false;
  private closed: Promise<void> | null = null;
  private readonly consumers = new Map<string, LogConsumer>();

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly topics: Record<LogOutput, string>,
    partitionCount: number,
    private readonly logger: Logger | undefined,
    opts: KafkaEventLogOptions,
  ) {
    this.partitionCount = partitionCount;
    this.appendTimeoutMs = opts.appendTimeoutMs ?? 5_000;
    this.maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  static async open(opts: KafkaEventLogOptions): Promise<KafkaEventLog> {
    if (!Number.isInteger(opts.partitions) || opts.partitions < 1 || opts.partitions > 1024) {
      throw new TallyError('invalid_argument', 'partitions must be an integer from 1 to 1024');
    }
    if (opts.brokers.length === 0) throw new TallyError('invalid_argument', 'at least one Kafka broker is required');
    const logger = opts.logger?.child({ component: 'kafka' });
    const kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      connectionTimeout: 1_000,
      requestTimeout: 10_000,
      retry: RETRY,
      logLevel: kafkaLevelOf(logger),
      logCreator: () => (entry) => logEntry(logger, entry),
    });
    const admin = kafka.admin({ retry: RETRY });
    const topicNames = OUTPUTS.map((o) => opts.topics[o]);
    try {
      await admin.connect();
      // only the missing ones: asking for existing topics is an error answer on every restart
      const existing = opts.createTopics === false ? null : new Set(await admin.listTopics());
      const missing = existing ? topicNames.filter((t) => !existing.has(t)) : [];
      if (missing.length) {
        // kafkajs' waitForLeaders gives up on the first UNKNOWN_TOPIC_OR_PARTITION, which a KRaft
        // broker answers until the new topic's metadata reaches it: we wait below instead
        await admin.createTopics({
          waitForLeaders: false,
          topics: missing.map((topic) => ({
            topic,
            numPartitions: opts.partitions,
            ...(opts.replicationFactor ? { replicationFactor: opts.replicationFactor } : {}),
          })),
        });
      }
      const meta = await waitForTopics(admin, topicNames, { created: opts.createTopics !== false });
      const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
      const rawCount = counts.get(opts.topics['raw-events']) ?? 0;
      if (rawCount !== opts.partitions) {
        logger?.warn(
          { topic: opts.topics['raw-events'], partitions: rawCount, configured: opts.partitions },
          "Kafka topic has a different partition count than configured; using the topic's",
        );
      }
      const log = new KafkaEventLog(kafka, admin, { ...opts.topics }, rawCount, logger, opts);
      // a new topic's leaders may still be starting after createTopics returned
      for (const output of OUTPUTS) await log.endOffsets(output);
      await log.currentProducer();
      return log;
    } catch (err) {
      await admin.disconnect().catch(() => undefined);
      throw unavailable('could not open the Kafka event log', err);
    }
  }

  async append(output: LogOutput, records: LogRecordIn[]): Promise<void> {
    if (this.closing) throw new TallyError('unavailable', 'event log is closed');
    const topic = this.topicOf(output);
    if (records.length === 0) return;
    const timestamp = String(Date.now());
    let bytes = 0;
    const messages = records.map((r) => {
      bytes += Buffer.byteLength(r.key) + r.value.length + RECORD_OVERHEAD_BYTES;
      return { key: r.key, value: r.value, timestamp };
    });
    this.stats.appends++;
    this.stats.records += records.length;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ topic, messages, bytes, resolve, reject });
      this.scheduleFlush();
    });
  }

  async consume(output: LogOutput, group: string, handler: (batch: LogBatch) => Promise<void>, options: ConsumeOptions = {}): Promise<LogConsumer> {
    if (this.closing) throw new TallyError('unavailable', 'event log is closed');
    const topic = this.topicOf(output);
    if (!group) throw new TallyError('invalid_argument', 'a consumer group name is required');
    const { maxBatchRecords, maxWaitMs } = batchOptions(options);
    const key = `${output}\u0000${group}`;
    if (this.consumers.has(key)) {
      throw new TallyError('conflict', `group ${group} already has a consumer on ${output} in this process`);
    }

    const ctl = new StopSignal();
    const consumer = this.kafka.consumer({
      groupId: kafkaGroupId(group, topic),
      allowAutoTopicCreation: false,
      // The broker answers a fetch as soon as minBytes are there or after maxWaitTimeInMs: the
      // closest Kafka has to "wait this long for a fuller batch". An idle consumer polls at that pace.
      maxWaitTimeInMs: Math.min(Math.max(maxWaitMs, 20), 5_000),
      minBytes: maxWaitMs >= 100 ? Math.min(maxBatchRecords * RECORD_OVERHEAD_BYTES, 1 << 20) : 1,
      // kafkajs' 1 MiB per partition cut a 20,000-record batch into ~1,400-record fetches, each
      // handled (objects, manifest, commit) on its own: fetch about a whole batch at once instead
      maxBytesPerPartition: fetchBytesPerPartition(maxBatchRecords),
      maxBytes: Math.min(fetchBytesPerPartition(maxBatchRecords) * this.partitionCount, MAX_FETCH_BYTES),
      retry: { ...RETRY, restartOnFailure: async () => !ctl.stopped },
    });
    const placeholder: LogConsumer = { stop: async () => undefined };
    this.consumers.set(key, placeholder);
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.partitionCount,
        eachBatch: (payload) => this.deliver(output, payload, handler, maxBatchRecords, ctl),
      });
    } catch (err) {
      this.consumers.delete(key);
      await consumer.disconnect().catch(() => undefined);
      throw unavailable(`could not start consuming ${output} as ${group}`, err);
    }
    let stopping: Promise<void> | null = null;
    const handle: LogConsumer = {
      stop: () =>
        (stopping ??= (async () => {
          ctl.stop();
          // kafkajs waits for the batch in flight, whose handler and commit finish first.
          await consumer.stop().catch((err: unknown) => this.logger?.warn({ err }, 'Kafka consumer stop failed'));
          await consumer.disconnect().catch((err: unknown) => this.logger?.warn({ err }, 'Kafka consumer disconnect failed'));
          this.consumers.delete(key);
        })()),
    };
    this.consumers.set(key, handle);
    return handle;
  }

  async endOffsets(output: LogOutput): Promise<number[]> {
    const topic = this.topicOf(output);
    try {
      const res = await retryRetriable(() => this.admin.fetchTopicOffsets(topic));
      const out = new Array<number>(Math.max(this.partitionCount, res.length)).fill(0);
      for (const p of res) out[p.partition] = Number(p.high);
      return out;
    } catch (err) {
      throw unavailable(`could not read the end offsets of ${topic}`, err);
    }
  }

  async committedOffsets(output: LogOutput, group: string): Promise<number[]> {
    const topic = this.topicOf(output);
    try {
      const res = await retryRetriable(() => this.admin.fetchOffsets({ groupId: kafkaGroupId(group, topic), topics: [topic] }));
      const partitions = res.find((t) => t.topic === topic)?.partitions ?? [];
      const out = new Array<number>(Math.max(this.partitionCount, partitions.length)).fill(0);
      for (const p of partitions) out[p.partition] = Math.max(0, Number(p.offset));
      return out;
    } catch (err) {
      throw unavailable(`could not read the committed offsets of ${group} on ${topic}`, err);
    }
  }

  /**
   * kafkajs has no consumer without a group: a throwaway group (`tally-read.<uuid>`) that commits
   * nothing, seeks each partition to its start (the others to their end) and is deleted after.
   */
  async readRange(output: LogOutput, from: number[], bounds: ReadBounds): Promise<{ records: LogRecord[]; complete: boolean }> {
    const topic = this.topicOf(output);
    const end = await this.endOffsets(output);
    const next = new Map<number, number>();
    end.forEach((e, p) => {
      if ((from[p] ?? 0) < e) next.set(p, from[p] ?? 0);
    });
    if (next.size === 0) return { records: [], complete: true };
    const records: LogRecord[] = [];
    let complete = false;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const timer = setTimeout(() => finish(), bounds.timeoutMs);
    const groupId = `tally-read.${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100, retry: RETRY });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const { partition } = batch;
          for (const m of batch.messages) {
            const offset = Number(m.offset);
            const want = next.get(partition);
            if (want === undefined || offset < want || offset >= end[partition]) continue;
            if (records.length >= bounds.maxRecords) return finish();
            records.push({ partition, offset, key: m.key ? m.key.toString('utf8') : '', value: m.value ?? Buffer.alloc(0), timestamp: Number(m.timestamp) });
            if (offset + 1 >= end[partition]) next.delete(partition);
            else next.set(partition, offset + 1);
          }
          if (next.size === 0) {
            complete = true;
            finish();
          }
        },
      });
      end.forEach((e, partition) => consumer.seek({ topic, partition, offset: String(next.get(partition) ?? e) }));
      await finished;
    } catch (err) {
      throw unavailable(`could not read ${topic}`, err);
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return { records, complete };
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    await Promise.all([...this.consumers.values()].map((c) => c.stop()));
    this.closing = true;
    while (this.flushing || this.pending.length > 0) {
      if (this.scheduled) clearImmediate(this.scheduled);
      this.scheduled = null;
      if (!this.flushing) this.startFlush();
      await this.flushing;
    }
    const producer = this.producer;
    this.producer = null;
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
    this.logger?.info({ ...this.stats, produceMs: this.produceLatency.summary() }, 'Kafka event log closed');
  }

  private topicOf(output: LogOutput): string {
    const topic = OUTPUTS.includes(output) ? this.topics[output] : undefined;
    if (!topic) throw new TallyError('invalid_argument', `unknown log output ${String(output)}`);
    return topic;
  }

  // ---- appending -------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = null;
      this.startFlush();
    });
  }

  private startFlush(): void {
    const run: Promise<void> = this.flushLoop().finally(() => {
      if (this.flushing === run) this.flushing = null;
      if (this.pending.length > 0) this.scheduleFlush();
    });
    this.flushing = run;
  }

  /** One produce request at a time; appends made meanwhile share the next one. */
  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      let bytes = 0;
      let n = 0;
      while (n < this.pending.length && (n === 0 || bytes + this.pending[n].bytes <= this.maxRequestBytes)) {
        bytes += this.pending[n].bytes;
        n++;
      }
      const taken = this.pending.splice(0, n);
      try {
        for (const request of this.requestsOf(taken)) await this.produce(request);
        for (const a of taken) a.resolve();
      } catch (err) {
        const e = unavailable('Kafka did not acknowledge the append', err);
        for (const a of taken) a.reject(e);
      }
    }
  }

  /** Groups the appends' messages per topic, splitting only an append larger than one request. */
  private requestsOf(appends: PendingAppend[]): TopicMessages[][] {
    const requests: TopicMessages[][] = [];
    let current = new Map<string, Message[]>();
    let bytes = 0;
    const cut = (): void => {
      if (current.size > 0) requests.push([...current].map(([topic, messages]) => ({ topic, messages })));
      current = new Map();
      bytes = 0;
    };
    for (const a of appends) {
      for (const m of a.messages) {
        const size = Buffer.byteLength(m.key as string) + (m.value as Buffer).length + RECORD_OVERHEAD_BYTES;
        if (bytes > 0 && bytes + size > this.maxRequestBytes) cut();
        let list = current.get(a.topic);
        if (!list) current.set(a.topic, (list = []));
        list.push(m);
        bytes += size;
      }
    }
    cut();
    return requests;
  }

  private async produce(topicMessages: TopicMessages[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no acknowledgement within ${this.appendTimeoutMs} ms`)), this.appendTimeoutMs);
    });
    const producer = this.currentProducer();
    this.stats.produceRequests++;
    try {
      let t0 = 0;
      const sent = producer.then((p) => {
        t0 = performance.now();
        return p.sendBatch({ topicMessages, acks: -1 });
      });
      await Promise.race([sent, deadline]);
      // only acknowledged requests: one past its deadline counts as failed, whenever it ends
      this.produceLatency.record(performance.now() - t0);
    } catch (err) {
      this.stats.failedProduceRequests++;
      this.discardProducer(producer);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private currentProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: RETRY,
    });
    this.stats.producersCreated++;
    const ready = producer.connect().then(() => producer);
    this.producer = ready;
    ready.catch(() => this.discardProducer(ready));
    return ready;
  }

  private discardProducer(p: Promise<Producer>): void {
    if (this.producer !== p) return;
    this.producer = null;
    p.then((x) => x.disconnect()).catch(() => undefined);
  }

  // ---- consuming -------------------------------------------------------------------------------

  /**
   * Hands one fetched partition batch to the handler in slices of maxBatchRecords. A slice is
   * committed once its handler resolves; a throwing handler gets the same slice again after a
   * backoff. Nothing past the last committed slice is resolved, so after a stop or a lost
   * partition the next fetch (here or in the new owner) starts at the committed offset.
   */
  private async deliver(
    output: LogOutput,
    { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload,
    handler: (batch: LogBatch) => Promise<void>,
    maxBatchRecords: number,
    ctl: StopSignal,
  ): Promise<void> {
    const { topic, partition, messages } = batch;
    for (let i = 0; i < messages.length; i += maxBatchRecords) {
      if (ctl.stopped || !isRunning() || isStale()) return;
      const records: LogRecord[] = messages.slice(i, i + maxBatchRecords).map((m) => ({
        partition,
        offset: Number(m.offset),
        key: m.key ? m.key.toString('utf8') : '',
        value: m.value ?? Buffer.alloc(0),
        timestamp: Number(m.timestamp),
      }));
      const last = records[records.length - 1];
      const logBatch: LogBatch = { output, partition, records, nextOffset: last.offset + 1 };
      const handled = await handleUntilDone(handler, logBatch, ctl, this.logger, { stillOurs: () => isRunning() && !isStale(), beforeRetry: heartbeat });
      if (!handled) return;
      // Not consumer.commitOffsets(): kafkajs skips that once stop() has begun, and stop() must
      // still commit the batch in flight.
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(logBatch.nextOffset) }] }] });
      resolveOffset(String(last.offset));
      if (isRunning()) await heartbeat();
    }
  }
}
