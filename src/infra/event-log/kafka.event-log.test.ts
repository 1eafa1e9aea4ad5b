import { randomUUID } from 'node:crypto';
import { Kafka, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithService } from '../../../test/support/services.js';
import { isTallyError } from '../errors.js';
import { eventLogContract } from './event-log.contract.js';
import type { EventLog, LogOutput } from './event-log.port.js';
import { KafkaEventLog, kafkaGroupId, waitForTopics, type KafkaEventLogOptions } from './kafka.event-log.js';
import type { Admin } from 'kafkajs';

/** An admin whose metadata answers are scripted: what a KRaft broker says right after createTopics. */
function scriptedAdmin(answers: (() => unknown)[]): Admin & { calls: number } {
  const admin = {
    calls: 0,
    async fetchTopicMetadata() {
      const answer = answers[Math.min(admin.calls++, answers.length - 1)];
      return answer();
    },
  };
  return admin as unknown as Admin & { calls: number };
}
const unknownTopic = () => {
  throw Object.assign(new Error('This server does not host this topic-partition'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
};
const meta = (leader: number) => () => ({ topics: [{ name: 't', partitions: [{ partitionId: 0, leader, replicas: [], isr: [], offlineReplicas: [] }] }] });

describe('waitForTopics', () => {
  it('waits while topics it created are unknown or leaderless, then returns their metadata', async () => {
    const admin = scriptedAdmin([unknownTopic, meta(-1), meta(1)]);
    const got = await waitForTopics(admin, ['t'], { created: true, timeoutMs: 5_000 });
    expect([admin.calls, got.topics[0].partitions[0].leader]).toEqual([3, 1]);
  });

  it('refuses at once a topic it did not create, and gives up after its timeout otherwise', async () => {
    const missing = await waitForTopics(scriptedAdmin([unknownTopic]), ['t'], { created: false }).catch((e) => e);
    expect(isTallyError(missing) && missing.message).toMatch(/do not all exist/);
    const leaderless = await waitForTopics(scriptedAdmin([meta(-1)]), ['t'], { created: true, timeoutMs: 300 }).catch((e) => e);
    expect(isTallyError(leaderless) && leaderless.message).toMatch(/not all ready/);
  });

  it('waits through a leader election, as kafkajs reports it once its own retries ran out', async () => {
    const election = new KafkaJSProtocolError(
      Object.assign(new Error('There is no leader for this topic-partition as we are in the middle of a leadership election'), {
        type: 'LEADER_NOT_AVAILABLE',
        code: 5,
        retriable: true,
      }),
    );
    const admin = scriptedAdmin([
      () => {
        throw new KafkaJSNumberOfRetriesExceeded(election, { retryCount: 5, retryTime: 3_000 });
      },
      () => {
        throw election;
      },
      meta(2),
    ]);
    const got = await waitForTopics(admin, ['t'], { created: false, timeoutMs: 5_000 });
    expect([admin.calls, got.topics[0].partitions[0].leader]).toEqual([3, 2]);
  });

  it('passes any other error through', async () => {
    const boom = scriptedAdmin([
      () => {
        throw new Error('connection refused');
      },
    ]);
    await expect(waitForTopics(boom, ['t'], { created: true })).rejects.toThrow('connection refused');
  });
});

describeWithService('KafkaEventLog', 'kafka', 'KAFKA_BROKERS', (brokersVar) => {
  const brokers = brokersVar.split(',');
  const admin = new Kafka({ clientId: 'tally-test-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  function uniqueTopics(): Record<LogOutput, string> {
    const id = randomUUID().slice(0, 8);
    return { 'raw-events': `test.${id}.raw-events`, 'dead-letter': `test.${id}.dead-letter` };
  }

  /** Deletes the topics and every group made for them (group ids end with the topic name). */
  async function dropTopics(topics: Record<LogOutput, string>): Promise<void> {
    const names = Object.values(topics);
    const { groups } = await admin.listGroups();
    const mine = groups.map((g) => g.groupId).filter((g) => names.some((t) => g.endsWith(`.${t}`)));
    if (mine.length) await admin.deleteGroups(mine).catch(() => undefined);
    // a retried delete whose first attempt went through finds the topics gone
    await admin.deleteTopics({ topics: names }).catch((err: { type?: string; cause?: { type?: string } }) => {
      if ((err.type ?? err.cause?.type) !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
    });
  }

  function options(topics: Record<LogOutput, string>, extra: Partial<KafkaEventLogOptions> = {}): KafkaEventLogOptions {
    return { brokers, clientId: 'tally-test', topics, partitions: 4, ...extra };
  }

  /** Opens a log on new topics and runs `test` on it; the log is closed and its topics dropped whatever happens. */
  async function withNewLog<T>(extra: Partial<KafkaEventLogOptions>, test: (log: KafkaEventLog, topics: Record<LogOutput, string>) => Promise<T>): Promise<T> {
    const topics = uniqueTopics();
    const log = await KafkaEventLog.open(options(topics, extra));
    try {
      return await test(log, topics);
    } finally {
      await log.close();
      await dropTopics(topics);
    }
  }

  eventLogContract('KafkaEventLog', async () => {
    const topics = uniqueTopics();
    const logs: EventLog[] = [await KafkaEventLog.open(options(topics))];
    return {
      log: logs[0],
      reopen: async () => {
        const again = await KafkaEventLog.open(options(topics));
        logs.push(again);
        return again;
      },
      cleanup: async () => {
        for (const l of logs) await l.close();
        await dropTopics(topics);
      },
    };
  });

  describe('specific to Kafka', () => {
    it('creates missing topics with the configured partitions and refuses missing topics when told not to create them', async () => {
      const topics = uniqueTopics();
      const err = await KafkaEventLog.open(options(topics, { createTopics: false })).catch((e: unknown) => e);
      expect(isTallyError(err) && err.code).toBe('unavailable');
      expect(String((err as Error).message)).toMatch(/do(es)? not (all )?exist/);

      const log = await KafkaEventLog.open(options(topics, { partitions: 3 }));
      try {
        expect(log.partitionCount).toBe(3);
        const meta = await admin.fetchTopicMetadata({ topics: Object.values(topics) });
        expect(meta.topics.map((t) => t.partitions.length)).toEqual([3, 3]);
        // an existing topic keeps its partitions whatever the configuration says
        const other = await KafkaEventLog.open(options(topics, { partitions: 6, createTopics: false }));
        expect(other.partitionCount).toBe(3);
        await other.close();
      } finally {
        await log.close();
        await dropTopics(topics);
      }
    });

    it('opens existing topics without an error or warning in the log (kafkajs logs "already exists" as an error)', async () => {
      const topics = uniqueTopics();
      const lines: string[] = [];
      const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
      const first = await KafkaEventLog.open(options(topics));
      try {
        const again = await KafkaEventLog.open({ ...options(topics), logger });
        await again.close();
        const said = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
        expect(said.length).toBeGreaterThan(0); // debug is on: kafkajs did talk
        expect(said.filter((l) => l.level >= 40)).toEqual([]);
      } finally {
        await first.close();
        await dropTopics(topics);
      }
    });

    it('coalesces concurrent appends into few produce requests', async () => {
      await withNewLog({}, async (log) => {
        const n = 3000;
        const before = { ...log.stats };
        await Promise.all(Array.from({ length: n }, (_, i) => log.append('raw-events', [{ key: `c${i % 50}`, value: Buffer.from(`v${i}`) }])));
        const requests = log.stats.produceRequests - before.produceRequests;
        expect(log.stats.appends - before.appends).toBe(n);
        expect(requests).toBeGreaterThanOrEqual(1);
        // all of them are made in one event-loop turn: the first request carries them all
        expect(requests).toBeLessThanOrEqual(2);
        expect((await log.endOffsets('raw-events')).reduce((a, b) => a + b, 0)).toBe(n);
      });
    });

    it('records the latency of every acknowledged produce request and logs it on close', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
      const closedLog = await withNewLog({ logger }, async (log) => {
        for (let i = 0; i < 5; i++) await log.append('raw-events', [{ key: `c${i}`, value: Buffer.from(`v${i}`) }]);
        const latency = log.produceLatency.summary();
        expect(latency.count).toBe(log.stats.produceRequests);
        expect(latency.count).toBeGreaterThanOrEqual(5);
        expect(latency.p50).toBeGreaterThan(0);
        expect(latency.max).toBeGreaterThanOrEqual(latency.p99);
        return log;
      });
      const closed = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'Kafka event log closed');
      expect(closed).toMatchObject({ produceRequests: closedLog.stats.produceRequests, produceMs: closedLog.produceLatency.summary() });
    });

    it('splits an append larger than one produce request and keeps its order', async () => {
      await withNewLog({ maxRequestBytes: 4096 }, async (log) => {
        const records = Array.from({ length: 200 }, (_, i) => ({ key: 'same-visitor', value: Buffer.from(`r${i}`.padEnd(100, '.')) }));
        const before = log.stats.produceRequests;
        await log.append('raw-events', records);
        expect(log.stats.produceRequests - before).toBeGreaterThan(5);
        const seen: string[] = [];
        let done!: () => void;
        const all = new Promise<void>((r) => (done = r));
        const c = await log.consume('raw-events', 'split', async (b) => {
          seen.push(...b.records.map((r) => r.value.toString()));
          if (seen.length === records.length) done();
        });
        await all;
        await c.stop();
        expect(seen).toEqual(records.map((r) => r.value.toString()));
      });
    });

    it('names the Kafka consumer group after the group and the topic', async () => {
      await withNewLog({}, async (log, topics) => {
        await log.append('dead-letter', [{ key: 'k', value: Buffer.from('x') }]);
        let done!: () => void;
        const handled = new Promise<void>((r) => (done = r));
        const c = await log.consume('dead-letter', 'archiver', async () => done());
        await handled;
        await c.stop();
        const res = await admin.fetchOffsets({ groupId: kafkaGroupId('archiver', topics['dead-letter']), topics: [topics['dead-letter']] });
        expect(res[0].partitions.map((p) => Number(p.offset)).filter((o) => o > 0)).toEqual([1]);
        expect(await log.committedOffsets('raw-events', 'archiver')).toEqual([0, 0, 0, 0]);
      });
    });
  });
});

describe('KafkaEventLog without a broker', () => {
  it('fails to open within a few seconds as unavailable', async () => {
    const started = Date.now();
    const err = await KafkaEventLog.open({
      brokers: ['127.0.0.1:1'],
      clientId: 'tally-test',
      topics: { 'raw-events': 'nowhere.raw', 'dead-letter': 'nowhere.dl' },
      partitions: 2,
    }).catch((e: unknown) => e);
    expect(isTallyError(err) && err.code).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
