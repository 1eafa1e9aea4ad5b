import { spawn } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';
import { createTenantCli, startTally } from '../test/support/tally-process.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);

function mpBody(events: number, salt: string): string {
  return JSON.stringify({
    client_id: `123456789.${salt}`,
    user_agent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    ip_override: '81.2.69.160',
    events: Array.from({ length: events }, (_, i) => ({
      name: i % 5 === 0 ? 'page_view' : 'scroll',
      params: { session_id: 1700000000, engagement_time_msec: 1200, page_location: `https://shop.example.com/products/${i}`, percent_scrolled: 90 },
    })),
  });
}

async function load(url: string, body: string): Promise<{ rps: number; p50: number; p99: number; non2xx: number; errors: number }> {
  const r = await autocannon({ url, method: 'POST', body, connections: CONNECTIONS, duration: SECONDS, headers: { 'content-type': 'application/json' } });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

async function bareServer(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'bare-http-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d) => resolve(JSON.parse(String(d)).port)));
  return { port, stop: () => child.kill('SIGTERM') };
}

export async function run() {
  const bare = await bareServer();
  const tally = await startTally({ env: { LOG_LEVEL: 'error' } });
  // the scale plan's rate limit is above what one box can send: we measure the collector, not the quota
  const tenant = await createTenantCli(tally.dataDir, 'Bench', ['--plan', 'scale']);
  const mp = `${tally.baseUrl}/mp/collect?measurement_id=${tenant.measurementId}&api_secret=${tenant.apiSecret}`;
  const rows: Record<string, unknown>[] = [];
  try {
    for (const events of [1, 25]) {
      const body = mpBody(events, String(events));
      await load(`http://127.0.0.1:${bare.port}/`, body); // warm-up both
      const base = await load(`http://127.0.0.1:${bare.port}/`, body);
      await load(mp, body);
      const col = await load(mp, body);
      rows.push({
        case: `GA4 MP, ${events} event${events > 1 ? 's' : ''}/request`,
        tally_rps: Math.round(col.rps),
        tally_events_per_s: Math.round(col.rps * events),
        tally_p50_ms: col.p50,
        tally_p99_ms: col.p99,
        tally_non2xx: col.non2xx,
        bare_rps: Math.round(base.rps),
        bare_p50_ms: base.p50,
        bare_p99_ms: base.p99,
        ratio: Number((col.rps / base.rps).toFixed(3)),
      });
    }
  } finally {
    bare.stop();
    await tally.stop();
  }
  console.table(rows);
  return { seconds: SECONDS, connections: CONNECTIONS, durability: 'fsync per group commit', rows };
}
