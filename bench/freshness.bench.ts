import { createTenantCli, startTally } from '../test/support/tally-process.js';

const PROBES = Number(process.env.BENCH_PROBES ?? 3);

/** Seconds from a 2xx at the collector until runReport counts the event, with default settings. */
export async function run() {
  const tally = await startTally({ env: { LOG_LEVEL: 'error' } });
  const t = await createTenantCli(tally.dataDir, 'Fresh');
  const rows: { probe: number; seconds: number }[] = [];
  try {
    for (let i = 0; i < PROBES; i++) {
      const name = `freshness_probe_${i}`;
      const r = await fetch(`${tally.baseUrl}/v1/collect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.ingestKey}` },
        body: JSON.stringify({ events: [{ name, client_id: `probe.${i}` }] }),
      });
      if (r.status !== 200) throw new Error(`collector answered ${r.status}`);
      const acked = performance.now();
      for (;;) {
        const rep = await fetch(`${tally.baseUrl}/v1beta/properties/${t.propertyId}:runReport`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t.readKey}` },
          body: JSON.stringify({
            dateRanges: [{ startDate: 'yesterday', endDate: 'today' }],
            metrics: [{ name: 'eventCount' }],
            dimensionFilter: { filter: { fieldName: 'eventName', stringFilter: { value: name } } },
          }),
        });
        const body = (await rep.json()) as { rows?: { metricValues: { value: string }[] }[] };
        if (Number(body.rows?.[0]?.metricValues[0].value ?? 0) === 1) break;
        if (performance.now() - acked > 180_000) throw new Error('event not visible after 180 s');
        await new Promise((res) => setTimeout(res, 250));
      }
      rows.push({ probe: i, seconds: Number(((performance.now() - acked) / 1000).toFixed(1)) });
    }
  } finally {
    await tally.stop();
  }
  console.table(rows);
  const worst = Math.max(...rows.map((r) => r.seconds));
  return { intervalMs: 30_000, probes: rows, worstSeconds: worst, targetSeconds: 60 };
}
