import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTallyError } from '../errors.js';
import { readTail, type EventLog, type LogBatch, type LogConsumer, type LogOutput, type LogRecord, type LogRecordIn } from './event-log.port.js';

export interface EventLogUnderTest {
  /** An empty log with at least two partitions. */
  log: EventLog;
  /** Opens the same log again once the test has closed `log`; `cleanup` must close what it returns. */
  reopen?: () => Promise<EventLog>;
  /** Releases everything; must tolerate logs the test already closed. */
  cleanup: () => Promise<void>;
}

const OUT: LogOutput = 'raw-events';
const SLOW = 60_000;

/**
 * The behaviour every EventLog implementation must have (the local segment log, Kafka).
 * Each test gets a fresh log from `factory`.
 */
export function eventLogContract(name: string, factory: () => Promise<EventLogUnderTest>): void {
  describe(`EventLog contract: ${name}`, () => {
    let subject: EventLogUnderTest;
    let log: EventLog;

    beforeEach(async () => {
      subject = await factory();
      log = subject.log;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    it('returns appended records in order per partition, with their keys, values and timestamps', { timeout: SLOW }, async () => {
      expect(log.partitionCount).toBeGreaterThanOrEqual(2);
      const keys = Array.from({ length: 24 }, (_, i) => `prop-${i % 3}:client-${i}`);
      const sent: LogRecordIn[] = [];
      const before = Date.now();
      for (let round = 0; round < 5; round++) {
        const batch = keys.map((key) => ({ key, value: Buffer.from(`${key}#${round}`) }));
        sent.push(...batch);
        await log.append(OUT, batch);
      }
      const after = Date.now();

      const got = await consumeAll(log, OUT, 'order');
      expect(got).toHaveLength(sent.length);

      const byPartition = groupBy(got, (r) => r.partition);
      for (const records of byPartition.values()) {
        expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
      }
      for (const key of keys) {
        const mine = got.filter((r) => r.key === key);
        expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
        expect(mine.sort((a, b) => a.offset - b.offset).map((r) => r.value.toString())).toEqual([0, 1, 2, 3, 4].map((round) => `${key}#${round}`));
        for (const r of mine) {
          expect(r.timestamp).toBeGreaterThanOrEqual(before - 1000);
          expect(r.timestamp).toBeLessThanOrEqual(after + 1000);
        }
      }
      expect(new Set(got.map((r) => r.partition)).size).toBeGreaterThan(1);
    });

    it('puts the same key in the same partition across separate appends', { timeout: SLOW }, async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
      await log.append(
        OUT,
        keys.map((key) => ({ key, value: Buffer.from('a') })),
      );
      for (const key of keys) await log.append(OUT, [{ key, value: Buffer.from('b') }]);
      const got = await consumeAll(log, OUT, 'keys');
      expect(got).toHaveLength(80);
      for (const key of keys) {
        const parts = new Set(got.filter((r) => r.key === key).map((r) => r.partition));
        expect(parts.size).toBe(1);
      }
    });

    it('resolves 2000 concurrent appends and delivers each record exactly once', { timeout: SLOW }, async () => {
      const n = 2000;
      await Promise.all(Array.from({ length: n }, (_, i) => log.append(OUT, [{ key: `c${i % 97}`, value: Buffer.from(`v${i}`) }])));
      const ends = await log.endOffsets(OUT);
      expect(sum(ends)).toBe(n);

      const consumer = await startCollecting(log, OUT, 'exactly-once');
      await consumer.reachedEnd();
      await consumer.stop();
      const values = consumer.records.map((r) => r.value.toString());
      expect(values).toHaveLength(n);
      expect(new Set(values)).toEqual(new Set(Array.from({ length: n }, (_, i) => `v${i}`)));
      expect(await log.committedOffsets(OUT, 'exactly-once')).toEqual(ends);
    });

    it('commits only after the handler resolves: a throwing handler is offered the same records again', { timeout: SLOW }, async () => {
      const records = Array.from({ length: 30 }, (_, i) => ({ key: 'one-key', value: Buffer.from(`r${i}`) }));
      await log.append(OUT, records);
      const offered: LogBatch[] = [];
      const committedAtFailure: number[][] = [];
      let failuresLeft = 2;
      const done = deferred();
      const consumer = await log.consume(
        OUT,
        'retry',
        async (batch) => {
          offered.push(batch);
          if (failuresLeft > 0) {
            failuresLeft--;
            committedAtFailure.push(await log.committedOffsets(OUT, 'retry'));
            throw new Error('handler failure on purpose');
          }
          if (batch.nextOffset === 30) done.resolve();
        },
        { maxBatchRecords: 10, maxWaitMs: 0 },
      );
      await done.promise;
      await consumer.stop();

      expect(offered.length).toBeGreaterThanOrEqual(3);
      const [first, second, third] = offered;
      expect(second.records.map(view)).toEqual(first.records.map(view));
      expect(third.records.map(view)).toEqual(first.records.map(view));
      expect(first.records[0].offset).toBe(0);
      for (const c of committedAtFailure) expect(c[first.partition]).toBe(0);
      const delivered = offered.slice(2).flatMap((b) => b.records.map((r) => r.value.toString()));
      expect(delivered).toEqual(records.map((r) => r.value.toString()));
      expect((await log.committedOffsets(OUT, 'retry'))[first.partition]).toBe(30);
    });

    it('resumes a group after its committed offsets; another group starts from the beginning', { timeout: SLOW }, async () => {
      const firstHalf = Array.from({ length: 50 }, (_, i) => ({ key: `r${i % 7}`, value: Buffer.from(`a${i}`) }));
      const secondHalf = Array.from({ length: 50 }, (_, i) => ({ key: `r${i % 7}`, value: Buffer.from(`b${i}`) }));
      await log.append(OUT, firstHalf);
      const a = await startCollecting(log, OUT, 'resume');
      await a.reachedEnd();
      await a.stop();
      const committed = await log.committedOffsets(OUT, 'resume');
      expect(committed).toEqual(await log.endOffsets(OUT));

      await log.append(OUT, secondHalf);
      const b = await startCollecting(log, OUT, 'resume');
      await b.reachedEnd();
      await b.stop();
      expect(b.records.map((r) => r.value.toString()).sort()).toEqual(secondHalf.map((r) => r.value.toString()).sort());
      for (const r of b.records) expect(r.offset).toBeGreaterThanOrEqual(committed[r.partition]);

      const other = await startCollecting(log, OUT, 'other-group');
      await other.reachedEnd();
      await other.stop();
      expect(other.records).toHaveLength(100);
      expect(new Set(other.records.map((r) => r.value.toString())).size).toBe(100);
    });

    it('reports end offsets and committed offsets that agree with what was appended and consumed', { timeout: SLOW }, async () => {
      expect(await log.endOffsets(OUT)).toEqual(new Array(log.partitionCount).fill(0));
      expect(await log.committedOffsets(OUT, 'nobody')).toEqual(new Array(log.partitionCount).fill(0));
      const sent = Array.from({ length: 120 }, (_, i) => ({ key: `e${i % 11}`, value: Buffer.from(String(i)) }));
      await log.append(OUT, sent.slice(0, 60));
      await log.append(OUT, sent.slice(60));
      const ends = await log.endOffsets(OUT);
      expect(ends).toHaveLength(log.partitionCount);
      expect(sum(ends)).toBe(120);

      const c = await startCollecting(log, OUT, 'agree');
      await c.reachedEnd();
      await c.stop();
      const perPartition = new Array<number>(log.partitionCount).fill(0);
      for (const r of c.records) perPartition[r.partition] = Math.max(perPartition[r.partition], r.offset + 1);
      expect(perPartition).toEqual(ends);
      expect(await log.committedOffsets(OUT, 'agree')).toEqual(ends);
      expect(await log.endOffsets('dead-letter')).toEqual(new Array(log.partitionCount).fill(0));
    });

    it("reads a group's tail (committed to end) without consuming it; bounded by a record count, saying so", { timeout: SLOW }, async () => {
      const first = Array.from({ length: 40 }, (_, i) => ({ key: `t${i % 7}`, value: Buffer.from(`old-${i}`) }));
      await log.append(OUT, first);
      await consumeAll(log, OUT, 'tail');
      const committed = await log.committedOffsets(OUT, 'tail');
      const tail = Array.from({ length: 30 }, (_, i) => ({ key: `t${i % 7}`, value: Buffer.from(`new-${i}`) }));
      await log.append(OUT, tail);

      const all = await readTail(log, OUT, 'tail', { maxRecords: 1_000, timeoutMs: 30_000 });
      expect(all.complete).toBe(true);
      expect(all.from).toEqual(committed);
      expect(all.records.map((r) => r.value.toString()).sort()).toEqual(tail.map((r) => r.value.toString()).sort());
      for (const r of all.records) expect(r.offset).toBeGreaterThanOrEqual(committed[r.partition]);
      // per partition in offset order, each record's key kept
      for (const key of ['t0', 't3']) {
        const mine = all.records.filter((r) => r.key === key).map((r) => r.value.toString());
        expect(mine).toEqual(tail.filter((r) => r.key === key).map((r) => r.value.toString()));
      }
      // nothing moved: the group still has the tail to consume
      expect(await log.committedOffsets(OUT, 'tail')).toEqual(committed);

      const cut = await readTail(log, OUT, 'tail', { maxRecords: 10, timeoutMs: 30_000 });
      expect(cut.complete).toBe(false);
      expect(cut.records).toHaveLength(10);
      // a group that consumed everything has no tail; reading a range from 0 reads everything
      await consumeAll(log, OUT, 'tail');
      expect(await readTail(log, OUT, 'tail', { maxRecords: 1_000, timeoutMs: 30_000 })).toMatchObject({ records: [], complete: true });
      const everything = await log.readRange(OUT, new Array(log.partitionCount).fill(0), { maxRecords: 1_000, timeoutMs: 30_000 });
      expect(everything.records).toHaveLength(70);
    });

    it('stop() waits for the in-flight batch to be handled and committed', { timeout: SLOW }, async () => {
      await log.append(
        OUT,
        Array.from({ length: 5 }, (_, i) => ({ key: 'stop-key', value: Buffer.from(`s${i}`) })),
      );
      const entered = deferred<LogBatch>();
      const release = deferred();
      const events: string[] = [];
      const consumer = await log.consume(OUT, 'stopper', async (batch) => {
        entered.resolve(batch);
        await release.promise;
        events.push('handler-done');
      });
      const batch = await entered.promise;
      const stopped = consumer.stop().then(() => events.push('stop-resolved'));
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      events.push('released');
      release.resolve();
      await stopped;
      expect(events).toEqual(['released', 'handler-done', 'stop-resolved']);
      expect((await log.committedOffsets(OUT, 'stopper'))[batch.partition]).toBe(batch.nextOffset);
    });

    it('rejects appends to a closed log as unavailable', { timeout: SLOW }, async () => {
      await log.close();
      const err = await log.append(OUT, [{ key: 'k', value: Buffer.from('x') }]).catch((e: unknown) => e);
      expect(isTallyError(err) && err.code).toBe('unavailable');
    });

    it('keeps records and committed offsets across close and reopen', { timeout: SLOW }, async (ctx) => {
      if (!subject.reopen) return ctx.skip();
      const sent = Array.from({ length: 200 }, (_, i) => ({ key: `p${i % 13}`, value: Buffer.from(`x${i}`) }));
      await log.append(OUT, sent);
      await log.append('dead-letter', [{ key: 'dl', value: Buffer.from('dead') }]);
      const c = await startCollecting(log, OUT, 'before-reopen', { maxBatchRecords: 7 });
      await c.reached((all) => all.length >= 100);
      await c.stop();
      const ends = await log.endOffsets(OUT);
      const committed = await log.committedOffsets(OUT, 'before-reopen');
      expect(sum(committed)).toBeGreaterThanOrEqual(100);
      await log.close();

      const again = await subject.reopen();
      expect(await again.endOffsets(OUT)).toEqual(ends);
      expect(await again.committedOffsets(OUT, 'before-reopen')).toEqual(committed);
      const rest = await startCollecting(again, OUT, 'before-reopen');
      await rest.reachedEnd();
      await rest.stop();
      const seen = new Set([...c.records, ...rest.records].map((r) => r.value.toString()));
      expect(seen).toEqual(new Set(sent.map((r) => r.value.toString())));
      for (const r of rest.records) expect(r.offset).toBeGreaterThanOrEqual(committed[r.partition]);

      const fresh = await startCollecting(again, OUT, 'after-reopen');
      await fresh.reachedEnd();
      await fresh.stop();
      expect(fresh.records.map((r) => r.value.toString()).sort()).toEqual(sent.map((r) => r.value.toString()).sort());
      const dead = await consumeAll(again, 'dead-letter', 'dl-reader');
      expect(dead.map((r) => r.value.toString())).toEqual(['dead']);
      await again.close();
    });
  });
}

// ---- helpers -----------------------------------------------------------------------------------

interface Collector {
  records: LogRecord[];
  reached(predicate: (all: LogRecord[]) => boolean): Promise<void>;
  /** Resolves once every partition has been consumed up to the end offsets of the moment of the call. */
  reachedEnd(): Promise<void>;
  stop(): Promise<void>;
}

async function startCollecting(log: EventLog, output: LogOutput, group: string, options: { maxBatchRecords?: number } = {}): Promise<Collector> {
  const records: LogRecord[] = [];
  const position = await log.committedOffsets(output, group);
  const watchers: { predicate: () => boolean; resolve: () => void }[] = [];
  const wait = (predicate: () => boolean): Promise<void> => (predicate() ? Promise.resolve() : new Promise((resolve) => watchers.push({ predicate, resolve })));
  const consumer: LogConsumer = await log.consume(
    output,
    group,
    async (batch) => {
      records.push(...batch.records);
      position[batch.partition] = batch.nextOffset;
      for (const w of watchers.filter((x) => x.predicate())) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      }
    },
    { maxWaitMs: 5, ...options },
  );
  return {
    records,
    reached: (predicate) => wait(() => predicate(records)),
    reachedEnd: async () => {
      const ends = await log.endOffsets(output);
      await wait(() => ends.every((end, p) => position[p] >= end));
    },
    stop: () => consumer.stop(),
  };
}

/** Consumes everything appended so far as `group`, then stops. */
async function consumeAll(log: EventLog, output: LogOutput, group: string): Promise<LogRecord[]> {
  const c = await startCollecting(log, output, group);
  await c.reachedEnd();
  await c.stop();
  return c.records;
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function groupBy<T, K>(items: T[], key: (t: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = m.get(k) ?? [];
    list.push(item);
    m.set(k, list);
  }
  return m;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function view(r: LogRecord): { partition: number; offset: number; key: string; value: string } {
  return { partition: r.partition, offset: r.offset, key: r.key, value: r.value.toString() };
}
