import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaGroupId } from '../src/infra/event-log/kafka.event-log.js';
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

interface ProduceLatency {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** The produce latency KafkaEventLog logs when it closes (pino JSON at info). */
function produceLatencyOf(output: string): ProduceLatency | null {
  for (const line of output.split('\n')) {
    if (!line.includes('"Kafka event log closed"')) continue;
    return (JSON.parse(line) as { produceMs: ProduceLatency }).produceMs;
  }
  return null;
}

/**
 * The same load against `tally serve` with its event log on Kafka (fresh topics), one process per
 * case so the produce latency it logs at shutdown covers that case only (warm-up and measured run).
 */
async function kafkaCase(brokers: string, events: number, body: string): Promise<Record<string, unknown>> {
  const id = `${Date.now().toString(36)}-${events}`;
  const topics = [`bench.collector.${id}.raw-events`, `bench.collector.${id}.dead-letter`];
  const tally = await startTally({
    env: { LOG_LEVEL: 'info', TALLY_EVENT_LOG: 'kafka', KAFKA_BROKERS: brokers, KAFKA_TOPIC_RAW: topics[0], KAFKA_TOPIC_DEAD_LETTER: topics[1] },
  });
  let row: Record<string, unknown>;
  try {
    const tenant = await createTenantCli(tally.dataDir, 'Bench', ['--plan', 'scale']);
    const mp = `${tally.baseUrl}/mp/collect?measurement_id=${tenant.measurementId}&api_secret=${tenant.apiSecret}`;
    await load(mp, body);
    const col = await load(mp, body);
    row = {
      case: `GA4 MP, ${events} event${events > 1 ? 's' : ''}/request, Kafka log`,
      tally_rps: Math.round(col.rps),
      tally_events_per_s: Math.round(col.rps * events),
      tally_p50_ms: col.p50,
      tally_p99_ms: col.p99,
      tally_non2xx: col.non2xx,
    };
  } finally {
    await tally.stop();
    fs.rmSync(tally.dataDir, { recursive: true, force: true });
    const admin = new Kafka({ clientId: 'tally-bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.deleteGroups(topics.map((t) => kafkaGroupId('archiver', t))).catch(() => undefined);
    await admin.disconnect();
  }
  const produce = produceLatencyOf(tally.output());
  if (!produce) throw new Error(`tally did not log its Kafka produce latency at shutdown:\n${tally.output().slice(-2000)}`);
  return { ...row, produce_requests: produce.count, produce_p50_ms: produce.p50, produce_p99_ms: produce.p99 };
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
  const brokers = process.env.KAFKA_BROKERS;
  const kafkaRows: Record<string, unknown>[] = [];
  if (brokers) {
    for (const events of [1, 25]) kafkaRows.push(await kafkaCase(brokers, events, mpBody(events, String(events))));
    // the same case on the embedded log, for the ratio
    for (const r of kafkaRows) {
      const local = rows.find((l) => r.case === `${l.case}, Kafka log`)!;
      r.ratio_to_local_log = Number(((r.tally_rps as number) / (local.tally_rps as number)).toFixed(3));
    }
  } else {
    process.stdout.write('KAFKA_BROKERS not set: the Kafka-log rows are skipped (scripts/services up kafka && eval "$(scripts/services env)")\n');
  }
  console.table(rows);
  if (kafkaRows.length) console.table(kafkaRows);
  return {
    seconds: SECONDS,
    connections: CONNECTIONS,
    durability: 'local log: fsync per group commit; Kafka log: acks=all, idempotent producer, one request in flight, single local broker',
    produce_latency: 'KafkaEventLog sendBatch until acks=all, over the warm-up and the measured run of that case (logged at shutdown)',
    rows,
    kafka_rows: kafkaRows,
    ...(brokers ? {} : { kafka_skipped: 'KAFKA_BROKERS not set' }),
  };
}
