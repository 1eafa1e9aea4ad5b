import { afterAll, describe, expect, it } from 'vitest';
import { createTenantCli, eventually, readZone, startTally, type TallyProcess } from '../support/tally-process.js';

describe('crash: kill -9 under load', () => {
  let tally: TallyProcess | undefined;
  afterAll(async () => {
    await tally?.stop();
  });

  it('keeps every acknowledged event, exactly once, after a restart', async () => {
    tally = await startTally();
    const t = await createTenantCli(tally.dataDir, 'Crashy');
    const acked = new Set<string>();
    let attempted = 0;
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const ids = Array.from({ length: 10 }, (_, j) => `w${w}-r${i}-e${j}`);
        attempted += ids.length;
        try {
          const r = await fetch(`${tally!.baseUrl}/v1/collect`, {
            method: 'POST',
            headers: { authorization: `Bearer ${t.ingestKey}` },
            body: JSON.stringify({ events: ids.map((id) => ({ event_id: id, name: 'page_view', client_id: `c${w}` })) }),
          });
          if (r.status === 200) {
            const body = (await r.json()) as any;
            expect(body.accepted).toBe(10);
            for (const id of ids) acked.add(id);
          }
        } catch {
          // the connection died with the server: these events were never acknowledged
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const workers = [0, 1, 2, 3, 4, 5, 6, 7].map(worker);
    await eventually(() => (acked.size >= 3000 ? true : undefined), 60_000, 'load');
    await tally.kill9();
    stop = true;
    await Promise.all(workers);
    expect(acked.size).toBeGreaterThan(0);
    expect(attempted).toBeGreaterThan(acked.size); // some requests were in flight when it died

    tally = await startTally({ dataDir: tally.dataDir });
    const raw = await eventually(
      () => {
        const recs = readZone(tally!.dataDir, 'raw');
        const ids = new Set(recs.map((r) => r.record.event_id));
        for (const id of acked) if (!ids.has(id)) return undefined;
        return recs;
      },
      60_000,
      'every acknowledged event in the raw zone',
    );
    await new Promise((r) => setTimeout(r, 1500)); // let the archiver settle any superseded objects
    const counts = new Map<string, number>();
    for (const r of readZone(tally.dataDir, 'raw')) counts.set(r.record.event_id, (counts.get(r.record.event_id) ?? 0) + 1);
    for (const id of acked) expect(counts.get(id), id).toBe(1);
    const dupes = [...counts].filter(([, n]) => n > 1);
    expect(dupes).toEqual([]);
    expect(raw.length).toBeGreaterThanOrEqual(acked.size);
  });
});
