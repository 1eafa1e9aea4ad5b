import { describe, expect, it } from 'vitest';
import { TallyError } from '../infra/errors.js';
import { ReportScheduler } from './report-scheduler.js';

/** A task that runs until released, recording its start. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { fn: async () => (log.push(name), await done, name), release };
}

const far = () => Date.now() + 60_000;
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('ReportScheduler', () => {
  it('caps one tenant at perTenant and gives freed slots to tenants in turn, not to whoever queued most', async () => {
    const s = new ReportScheduler({ concurrency: 2, perTenant: 1, queuePerTenant: 10 });
    const log: string[] = [];
    const a = [0, 1, 2, 3].map((i) => gate(log, `a${i}`));
    const runs = a.map((g) => s.run('A', g.fn, far()));
    await tick();
    expect(log).toEqual(['a0']); // A holds one slot only; the other stays free for others
    const b = gate(log, 'b0');
    const c = gate(log, 'c0');
    const rb = s.run('B', b.fn, far());
    await tick();
    expect(log).toEqual(['a0', 'b0']);
    const rc = s.run('C', c.fn, far());
    await tick();
    expect(s.stats().tenants).toEqual({ A: { running: 1, waiting: 3 }, B: { running: 1, waiting: 0 }, C: { running: 0, waiting: 1 } });
    b.release();
    await rb;
    await tick();
    expect(log.at(-1)).toBe('c0'); // C was waiting; A's queue does not jump it
    a[0].release();
    await runs[0];
    await tick();
    expect(log.at(-1)).toBe('a1');
    c.release();
    for (const g of a.slice(1)) g.release();
    expect(await Promise.all([...runs, rc])).toEqual(['a0', 'a1', 'a2', 'a3', 'c0']);
    expect(s.stats()).toEqual({ running: 0, tenants: {} });
  });

  it('refuses with RESOURCE_EXHAUSTED when a tenant already has queuePerTenant waiting, and times out a wait past the deadline', async () => {
    const s = new ReportScheduler({ concurrency: 4, perTenant: 1, queuePerTenant: 1 });
    const log: string[] = [];
    const first = gate(log, 'first');
    const r1 = s.run('A', first.fn, far());
    const r2 = s.run('A', async () => 'second', Date.now() + 30);
    const refused = await s.run('A', async () => 'third', far()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TallyError);
    expect((refused as TallyError).code).toBe('rate_limited');
    expect((refused as TallyError).details.retryAfterMs).toBeGreaterThan(0);
    await expect(r2).rejects.toMatchObject({ code: 'deadline_exceeded' });
    // another tenant is untouched by A's queue
    expect(await s.run('B', async () => 'b', far())).toBe('b');
    first.release();
    expect(await r1).toBe('first');
  });

  it('frees the slot when a report fails', async () => {
    const s = new ReportScheduler({ concurrency: 1, perTenant: 1, queuePerTenant: 5 });
    await expect(s.run('A', async () => Promise.reject(new Error('boom')), far())).rejects.toThrow('boom');
    expect(await s.run('A', async () => 'after', far())).toBe('after');
  });
});
