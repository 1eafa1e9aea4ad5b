import { describe, expect, it } from 'vitest';
import { embeddedDbPerSuite } from '../src/infra/metadata/embedded-db.testkit.js';
import { OPEN_END, PartitionLocks } from './partition-locks.repository.js';

describe('partition locks: one writer per property and date', () => {
  const meta = embeddedDbPerSuite('tally-locks-');

  it('refuses overlapping ranges of one property, allows disjoint ranges and other properties', async () => {
    const locks = new PartitionLocks(meta.db);
    const a = await locks.tryAcquire('1', '2026-11-03', '2026-11-05', 'replay:a');
    expect(a).not.toBeNull();
    expect(await locks.tryAcquire('1', '2026-11-05', '2026-11-06', 'x')).toBeNull();
    expect(await locks.tryAcquire('1', '2026-11-01', OPEN_END, 'scheduler')).toBeNull();
    const disjoint = await locks.tryAcquire('1', '2026-11-06', '2026-11-07', 'y');
    expect(disjoint).not.toBeNull();
    const other = await locks.tryAcquire('2', '2026-11-01', OPEN_END, 'z');
    expect(other).not.toBeNull();
    // the scheduler's job skips while held, and runs once released
    expect(await locks.withLockIfFree('1', '2026-11-04', '2026-11-04', async () => 'ran')).toBeNull();
    await a!.release();
    expect(await locks.withLockIfFree('1', '2026-11-04', '2026-11-04', async () => 'ran')).toBe('ran');
    await disjoint!.release();
    await other!.release();
    expect(Number((await meta.db('partition_locks').count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('waits for a holder, gives up with partitions_locked, and outlives a dead holder by its TTL only', async () => {
    const locks = new PartitionLocks(meta.db);
    const held = await locks.tryAcquire('3', '2026-11-01', '2026-11-02', 'live holder');
    expect(held).not.toBeNull();
    await expect(locks.acquire('3', '2026-11-02', '2026-11-02', 'replay', 200)).rejects.toMatchObject({
      code: 'conflict',
      details: { reason: 'partitions_locked' },
    });
    await held!.release();
    // a holder that died renews nothing: its row counts until it expires, then not
    await meta.db('partition_locks').insert({
      property_id: '4',
      from_date: '2026-11-01',
      to_date: '2026-11-01',
      holder: 'dead',
      expires_at: new Date(Date.now() + 800),
    });
    expect(await locks.tryAcquire('4', '2026-11-01', '2026-11-01', 'replay')).toBeNull();
    const next = await locks.acquire('4', '2026-11-01', '2026-11-01', 'replay', 5_000);
    await next.release();
  });
});
