import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isTallyError } from '../errors.js';
import { eventLogContract } from './event-log.contract.js';
import { partitionForKey, type EventLog, type LogBatch, type LogRecord } from './event-log.port.js';
import { LocalEventLog, type LocalEventLogOptions } from './local.event-log.js';

const roots: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tally-event-log-'));
  roots.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(roots.map((d) => rm(d, { recursive: true, force: true })));
});

function contractFactory(extra: Partial<LocalEventLogOptions>) {
  return async () => {
    const dir = await tempDir();
    const opts: LocalEventLogOptions = { dir, partitions: 4, ...extra };
    const logs: EventLog[] = [await LocalEventLog.open(opts)];
    return {
      log: logs[0],
      reopen: async () => {
        const again = await LocalEventLog.open(opts);
        logs.push(again);
        return again;
      },
      cleanup: async () => {
        for (const l of logs) await l.close();
      },
    };
  };
}

eventLogContract('LocalEventLog', contractFactory({}));
eventLogContract('LocalEventLog with 512-byte segments', contractFactory({ segmentBytes: 512 }));

// Fixture records with a known frame size: 8 header + 8 timestamp + 2 key length + 1 key + 8 value.
const FRAME = 27;
const KEY = 'k';
const fixtureValue = (i: number): Buffer => Buffer.from(`value${String(i).padStart(3, '0')}`);
const fixture = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ key: KEY, value: fixtureValue(from + i) }));
const segName = (base: number): string => `${String(base).padStart(20, '0')}.seg`;

describe('LocalEventLog', () => {
  const opened: LocalEventLog[] = [];
  async function openLog(opts: LocalEventLogOptions): Promise<LocalEventLog> {
    const log = await LocalEventLog.open(opts);
    opened.push(log);
    return log;
  }
  afterEach(async () => {
    for (const log of opened.splice(0)) await log.close();
  });

  /** Consumes as `group` up to the current end offsets; expects exactly `count` records. */
  async function readAll(log: EventLog, group: string, count: number, maxBatchRecords?: number): Promise<LogRecord[]> {
    const got: LogRecord[] = [];
    const batches: LogBatch[] = [];
    const position = await log.committedOffsets('raw-events', group);
    const ends = await log.endOffsets('raw-events');
    const atEnd = (): boolean => ends.every((end, p) => position[p] >= end);
    let done!: () => void;
    const reached = new Promise<void>((r) => (done = r));
    const consumer = await log.consume(
      'raw-events',
      group,
      async (batch) => {
        batches.push(batch);
        got.push(...batch.records);
        position[batch.partition] = batch.nextOffset;
        if (atEnd()) done();
      },
      { maxWaitMs: 0, maxBatchRecords },
    );
    if (!atEnd()) await reached;
    await consumer.stop();
    expect(got).toHaveLength(count);
    if (maxBatchRecords) for (const b of batches) expect(b.records.length).toBeLessThanOrEqual(maxBatchRecords);
    return got.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  }

  const segmentFile = (dir: string, base = 0, partition = 0): string => join(dir, 'raw-events', String(partition), segName(base));

  it('places every record in partitionForKey(key) and respects maxBatchRecords', async () => {
    const log = await openLog({ dir: await tempDir(), partitions: 5 });
    const keys = Array.from({ length: 300 }, (_, i) => `property-${i % 4}:client-${i}`);
    await log.append(
      'raw-events',
      keys.map((key) => ({ key, value: Buffer.from(key) })),
    );
    const got = await readAll(log, 'placement', 300, 16);
    expect(got).toHaveLength(300);
    for (const r of got) expect(r.partition).toBe(partitionForKey(r.key, 5));
  });

  it('shares one write and one fsync among appends that arrive together', async () => {
    let syncs = 0;
    const dir = await tempDir();
    const log = await openLog({ dir, partitions: 1, hooks: { beforeSync: () => void syncs++ } });
    await Promise.all(Array.from({ length: 500 }, (_, i) => log.append('raw-events', fixture(i, i + 1))));
    expect(syncs).toBe(1);
    expect(await log.endOffsets('raw-events')).toEqual([500]);
    expect((await stat(segmentFile(dir))).size).toBe(500 * FRAME);
  });

  describe('recovery of the last segment', () => {
    async function writeTen(dir: string): Promise<void> {
      const log = await LocalEventLog.open({ dir, partitions: 1 });
      await log.append('raw-events', fixture(0, 4));
      await log.append('raw-events', fixture(4, 10));
      await log.close();
      expect((await stat(segmentFile(dir))).size).toBe(10 * FRAME);
    }

    /** Ten records in one segment, `damage` done to its file, then the log must recover the first `complete` ones and append after them. */
    async function expectRecoveredAfter(damage: (segment: string) => Promise<void>, complete: number): Promise<void> {
      const dir = await tempDir();
      await writeTen(dir);
      await damage(segmentFile(dir));
      const log = await openLog({ dir, partitions: 1 });
      expect(await log.endOffsets('raw-events')).toEqual([complete]);
      expect((await stat(segmentFile(dir))).size).toBe(complete * FRAME);
      const got = await readAll(log, 'after-crash', complete);
      expect(got.map((r) => r.offset)).toEqual(Array.from({ length: complete }, (_, i) => i));
      expect(got.map((r) => r.value.toString())).toEqual(fixture(0, complete).map((r) => r.value.toString()));

      await log.append('raw-events', fixture(100, 103));
      expect(await log.endOffsets('raw-events')).toEqual([complete + 3]);
      const all = await readAll(log, 'later', complete + 3);
      expect(all.map((r) => r.value.toString())).toEqual([...fixture(0, complete), ...fixture(100, 103)].map((r) => r.value.toString()));
      expect(all.map((r) => r.offset)).toEqual(Array.from({ length: complete + 3 }, (_, i) => i));
    }

    it.each([
      ['inside a header', 7 * FRAME + 5],
      ['inside a payload', 7 * FRAME + 19],
    ])('keeps every complete record when the file is cut %s', (_where, cutAt) => expectRecoveredAfter((segment) => truncate(segment, cutAt), 7));

    it.each([
      ['random bytes', randomBytes(300)],
      ['zeros', Buffer.alloc(4096)],
    ])('cuts a garbage tail of %s', (_what, garbage) => expectRecoveredAfter((segment) => appendFile(segment, garbage), 10));

    it.each([
      ['the last record', 9],
      ['a middle record, and everything after it', 5],
    ])('cuts at a crc mismatch in %s', (_which, bad) =>
      expectRecoveredAfter(async (segment) => {
        const bytes = await readFile(segment);
        bytes[bad * FRAME + FRAME - 1] ^= 0xff;
        await writeFile(segment, bytes);
      }, bad),
    );
  });

  describe('segments', () => {
    it('rolls at segmentBytes, gives an oversized record a segment of its own, and reads across segments', async () => {
      const dir = await tempDir();
      const opts = { dir, partitions: 1, segmentBytes: 200 };
      const log = await openLog(opts);
      for (let i = 0; i < 50; i += 10) await log.append('raw-events', fixture(i, i + 10));
      const big = { key: KEY, value: Buffer.alloc(500, 7) };
      await log.append('raw-events', [big, ...fixture(51, 53)]);

      // 7 frames of 27 bytes fit in 200; the 8th would not.
      const bases = [0, 7, 14, 21, 28, 35, 42, 49, 50, 51];
      const files = (await readdir(join(dir, 'raw-events', '0'))).sort();
      expect(files).toEqual(bases.map(segName));
      const sizes = await Promise.all(bases.map(async (b) => (await stat(segmentFile(dir, b))).size));
      expect(sizes).toEqual([...new Array(7).fill(7 * FRAME), FRAME, 8 + 10 + 1 + 500, 2 * FRAME]);

      const expected = [...fixture(0, 50), big, ...fixture(51, 53)].map((r) => r.value.toString('hex'));
      const got = await readAll(log, 'across', 53, 4);
      expect(got.map((r) => r.value.toString('hex'))).toEqual(expected);
      expect(got.map((r) => r.offset)).toEqual(expected.map((_, i) => i));
    });

    it('starts a group at any committed offset, inside sealed segments and past the sparse index step', async () => {
      const dir = await tempDir();
      const small = { dir, partitions: 1, segmentBytes: 200 };
      let log = await LocalEventLog.open(small);
      await log.append('raw-events', fixture(0, 50));
      await log.close();
      await writeFile(join(dir, 'raw-events', 'offsets', 'mid.json'), JSON.stringify({ offsets: [20] }));
      log = await openLog(small);
      const fromTwenty = await readAll(log, 'mid', 30);
      expect(fromTwenty.map((r) => r.offset)).toEqual(Array.from({ length: 30 }, (_, i) => 20 + i));
      expect(fromTwenty.map((r) => r.value.toString())).toEqual(fixture(20, 50).map((r) => r.value.toString()));

      const bigDir = await tempDir();
      let many = await LocalEventLog.open({ dir: bigDir, partitions: 1 });
      const records = Array.from({ length: 10_000 }, (_, i) => ({ key: KEY, value: Buffer.from(`v${i}`) }));
      await many.append('raw-events', records);
      await many.close();
      await writeFile(join(bigDir, 'raw-events', 'offsets', 'late.json'), JSON.stringify({ offsets: [9001] }));
      many = await openLog({ dir: bigDir, partitions: 1 });
      const tail = await readAll(many, 'late', 999);
      expect(tail[0].offset).toBe(9001);
      expect(tail.map((r) => r.value.toString())).toEqual(records.slice(9001).map((r) => r.value.toString()));
    });
  });

  describe('retention', () => {
    async function commitUpTo(log: EventLog, group: string, offset: number): Promise<void> {
      let reached!: () => void;
      const atOffset = new Promise<void>((r) => (reached = r));
      const consumer = await log.consume(
        'raw-events',
        group,
        async (batch) => {
          if (batch.records[0].offset >= offset) {
            reached();
            throw new Error('stop here on purpose');
          }
        },
        { maxBatchRecords: 1, maxWaitMs: 0 },
      );
      await atOffset;
      await consumer.stop();
      expect(await log.committedOffsets('raw-events', group)).toEqual([offset]);
    }

    const listBases = async (dir: string): Promise<number[]> => (await readdir(join(dir, 'raw-events', '0'))).sort().map((f) => Number(f.slice(0, 20)));

    it('deletes only segments that every group has consumed and that are old enough, never the active one', async () => {
      const dir = await tempDir();
      const log = await openLog({ dir, partitions: 1, segmentBytes: 200, retentionMs: 0 });
      await log.append('raw-events', fixture(0, 50));
      const bases = [0, 7, 14, 21, 28, 35, 42, 49];
      expect(await listBases(dir)).toEqual(bases);
      expect(await log.enforceRetention()).toBe(0);

      await readAll(log, 'all', 50);
      await commitUpTo(log, 'partial', 20);
      expect(await log.enforceRetention()).toBe(2);
      expect(await listBases(dir)).toEqual(bases.slice(2));

      await readAll(log, 'partial', 30);
      expect(await log.enforceRetention()).toBe(5);
      expect(await listBases(dir)).toEqual([49]);
      expect(await log.endOffsets('raw-events')).toEqual([50]);
      const late = await readAll(log, 'late-joiner', 1);
      expect(late.map((r) => [r.offset, r.value.toString()])).toEqual([[49, fixtureValue(49).toString()]]);

      await log.append('raw-events', fixture(50, 52));
      expect((await readAll(log, 'all', 2)).map((r) => r.offset)).toEqual([50, 51]);
    });

    it('keeps consumed segments younger than retentionMs, and ages older ones by file time after a restart', async () => {
      const dir = await tempDir();
      const opts = { dir, partitions: 1, segmentBytes: 200, retentionMs: 3_600_000 };
      let log = await LocalEventLog.open(opts);
      await log.append('raw-events', fixture(0, 50));
      await readAll(log, 'all', 50);
      expect(await log.enforceRetention()).toBe(0);
      await log.close();

      const twoHoursAgo = new Date(Date.now() - 7_200_000);
      for (const base of [0, 7, 14]) await utimes(segmentFile(dir, base), twoHoursAgo, twoHoursAgo);
      log = await openLog(opts);
      expect(await log.enforceRetention()).toBe(3);
      expect(await listBases(dir)).toEqual([21, 28, 35, 42, 49]);
      expect(await log.committedOffsets('raw-events', 'all')).toEqual([50]);
    });
  });

  describe('the directory lock', () => {
    it('refuses a second open of the same dir while the first is open', async () => {
      const dir = await tempDir();
      const first = await LocalEventLog.open({ dir, partitions: 2 });
      const err = await LocalEventLog.open({ dir, partitions: 2 }).catch((e: unknown) => e);
      expect(isTallyError(err) && err.code).toBe('conflict');
      expect(String((err as Error).message)).toContain(String(process.pid));
      await first.close();
      const second = await openLog({ dir, partitions: 2 });
      expect(await second.endOffsets('raw-events')).toEqual([0, 0]);
    });

    it('takes over a lock left by a process that is gone', async () => {
      const dir = await tempDir();
      const child = spawnSync(process.execPath, ['-e', '']);
      expect(child.pid).toBeGreaterThan(0);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'LOCK'), String(child.pid));
      await openLog({ dir, partitions: 1 });
      expect(await readFile(join(dir, 'LOCK'), 'utf8')).toBe(String(process.pid));
    });
  });

  describe('write failures', () => {
    it('rejects the affected appends as unavailable and never shows their records', async () => {
      const dir = await tempDir();
      let fail = false;
      const opts: LocalEventLogOptions = {
        dir,
        partitions: 1,
        hooks: {
          beforeSync: () => {
            if (fail) {
              fail = false;
              throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
            }
          },
        },
      };
      const log = await LocalEventLog.open(opts);
      await log.append('raw-events', fixture(0, 3));
      fail = true;
      const results = await Promise.allSettled([log.append('raw-events', fixture(10, 12)), log.append('raw-events', fixture(12, 13))]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        const reason = (r as PromiseRejectedResult).reason as unknown;
        expect(isTallyError(reason) && reason.code).toBe('unavailable');
      }
      expect((await stat(segmentFile(dir))).size).toBe(3 * FRAME);
      expect(await log.endOffsets('raw-events')).toEqual([3]);

      await log.append('raw-events', fixture(3, 5));
      const expected = fixture(0, 5).map((r) => r.value.toString());
      expect((await readAll(log, 'reader', 5)).map((r) => r.value.toString())).toEqual(expected);
      await log.close();

      const again = await openLog(opts);
      expect(await again.endOffsets('raw-events')).toEqual([5]);
      expect((await readAll(again, 'after-restart', 5)).map((r) => r.value.toString())).toEqual(expected);
    });

    it('removes a segment created by a failed batch that rolled', async () => {
      const dir = await tempDir();
      let failOnNewSegment = false;
      const log = await openLog({
        dir,
        partitions: 1,
        segmentBytes: 200,
        hooks: {
          beforeSync: ({ path }) => {
            if (failOnNewSegment && !path.endsWith(segName(0))) throw new Error('ENOSPC: no space left on device');
          },
        },
      });
      await log.append('raw-events', fixture(0, 5));
      failOnNewSegment = true;
      const err = await log.append('raw-events', fixture(5, 12)).catch((e: unknown) => e);
      expect(isTallyError(err) && err.code).toBe('unavailable');
      expect(await readdir(join(dir, 'raw-events', '0'))).toEqual([segName(0)]);
      expect((await stat(segmentFile(dir))).size).toBe(5 * FRAME);
      expect(await log.endOffsets('raw-events')).toEqual([5]);

      failOnNewSegment = false;
      await log.append('raw-events', fixture(20, 27));
      expect((await readdir(join(dir, 'raw-events', '0'))).sort()).toEqual([segName(0), segName(7)]);
      const got = await readAll(log, 'reader', 12);
      expect(got.map((r) => r.value.toString())).toEqual([...fixture(0, 5), ...fixture(20, 27)].map((r) => r.value.toString()));
    });
  });
});
