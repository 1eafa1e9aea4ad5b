import { measureIsolation, percentile, startIsolationServer } from '../src/query/report-isolation.testkit.js';

/**
 * Issue 9 §4's figure: tenant B's one-metric report while tenant A runs six of the heaviest
 * reports the API accepts (the same scenario as src/query/report-isolation.test.ts). Reported as
 * milliseconds and as a ratio to B's report alone, measured in the same run; the target was p99
 * under 500 ms. Several rounds; BENCH_ROUNDS changes how many.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

export async function run() {
  const server = await startIsolationServer();
  try {
    const rounds = [];
    for (let i = 0; i < ROUNDS; i++) {
      const r = await measureIsolation(server.url);
      const ms = r.light.map((x) => x.ms);
      const round = {
        aloneMs: Math.round(r.alone.ms),
        heavyMs: Math.round(r.heavyMs),
        heavyStatuses: r.heavy.map((h) => h.status),
        lightReports: r.light.length,
        lightP50Ms: Math.round(percentile(ms, 0.5)),
        lightP99Ms: Math.round(percentile(ms, 0.99)),
        p99OverAlone: Number((percentile(ms, 0.99) / r.alone.ms).toFixed(2)),
      };
      rounds.push(round);
      process.stdout.write(
        `round ${i + 1}: B alone ${round.aloneMs} ms; during A's six heavy (${round.heavyMs} ms): ${round.lightReports} reports, p50 ${round.lightP50Ms} ms, p99 ${round.lightP99Ms} ms (${round.p99OverAlone}× alone; target p99 < 500 ms)\n`,
      );
    }
    return { rounds, cpus: (await import('node:os')).cpus().length };
  } finally {
    await server.close();
  }
}
