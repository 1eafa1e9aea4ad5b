import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaGroupId } from '../src/infra/event-log/kafka.event-log.js';
import { createTenantCli, startTally, type TallyProcess } from '../test/support/tally-process.js';
import { treeCpuMicros } from './process-cpu.js';

/**
 * GA4 MP requests (1 and 25 events) against `tally collector` (the collector role alone, in its own
 * process) and against a bare node:http server that reads the body and answers 204. Headline: req/s
 * and the ratio to bare, measured in the same run; stable figure: CPU µs per request and per event
 * of the server process(es) alone, from /proc/<pid>/stat (the load generator runs here, in the
 * bench's process). BENCH_SECONDS per measured run (default 5; a warm-up of up to 3 s before each),
 * BENCH_CONNECTIONS (64).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Math.min(3, SECONDS);
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

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU µs of the server process (and its children) per answered request, and per event. */
  cpuPerRequest: number;
  cpuPerEvent: number;
}

/** A warm-up, then a measured run; the CPU the server process tree used during the measured run only. */
async function measure(url: string, body: string, events: number, pid: number): Promise<Measured> {
  const opts = { url, method: 'POST' as const, body, connections: CONNECTIONS, headers: { 'content-type': 'application/json' } };
  await autocannon({ ...opts, duration: WARMUP_SECONDS });
  const before = treeCpuMicros(pid);
  const r = await autocannon({ ...opts, duration: SECONDS });
  const cpu = treeCpuMicros(pid) - before;
  const answered = Math.max(1, r.requests.total);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    cpuPerRequest: Math.round(cpu / answered),
    cpuPerEvent: Number((cpu / answered / events).toFixed(1)),
  };
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
 * `tally collector` alone on a data dir that already holds a scale-plan tenant (created through a
 * short `tally serve`, whose admin endpoint the CLI needs), so the process measured runs nothing but
 * the collector (no archiver, no scheduler).
 */
async function startCollector(env: Record<string, string>): Promise<{ tally: TallyProcess; mp: string }> {
  const setup = await startTally({ env });
  // the scale plan's rate limit is above what one box can send: we measure the collector, not the quota
  const tenant = await createTenantCli(setup.dataDir, 'Bench', ['--plan', 'scale']);
  await setup.stop();
  const tally = await startTally({ dataDir: setup.dataDir, role: 'collector', env });
  return { tally, mp: `${tally.baseUrl}/mp/collect?measurement_id=${tenant.measurementId}&api_secret=${tenant.apiSecret}` };
}

function row(label: string, events: number, m: Measured): Record<string, unknown> {
  return {
    case: `${label}, ${events} event${events > 1 ? 's' : ''}/req`,
    rps: Math.round(m.rps),
    events_per_s: Math.round(m.rps * events),
    p50_ms: m.p50,
    p99_ms: m.p99,
    non2xx: m.non2xx,
    cpu_us_per_req: m.cpuPerRequest,
    cpu_us_per_event: m.cpuPerEvent,
  };
}

async function bareServer(): Promise<{ port: number; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'bare-http-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d) => resolve(JSON.parse(String(d)).port)));
  return { port, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

/** The same load with the event log on Kafka (fresh topics); the produce latency it logs at shutdown covers both sizes. */
async function kafkaRows(brokers: string, bodies: Map<number, string>): Promise<{ rows: Record<string, unknown>[]; produce: ProduceLatency }> {
  const id = Date.now().toString(36);
  const topics = [`bench.collector.${id}.raw-events`, `bench.collector.${id}.dead-letter`];
  const env = { LOG_LEVEL: 'info', TALLY_EVENT_LOG: 'kafka', KAFKA_BROKERS: brokers, KAFKA_TOPIC_RAW: topics[0], KAFKA_TOPIC_DEAD_LETTER: topics[1] };
  const { tally, mp } = await startCollector(env);
  const rows: Record<string, unknown>[] = [];
  try {
    for (const [events, body] of bodies) rows.push(row('collector, Kafka log', events, await measure(mp, body, events, tally.child.pid!)));
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
  return { rows, produce };
}

export async function run() {
  const bodies = new Map([1, 25].map((n) => [n, mpBody(n, String(n))]));
  const rows: Record<string, unknown>[] = [];
  const bare = await bareServer();
  try {
    for (const [events, body] of bodies) rows.push(row('bare node:http', events, await measure(`http://127.0.0.1:${bare.port}/`, body, events, bare.pid)));
  } finally {
    bare.stop();
  }
  const { tally, mp } = await startCollector({ LOG_LEVEL: 'error' });
  try {
    for (const [events, body] of bodies) rows.push(row('collector, local log', events, await measure(mp, body, events, tally.child.pid!)));
  } finally {
    await tally.stop();
    fs.rmSync(tally.dataDir, { recursive: true, force: true });
  }
  for (const r of rows) {
    const base = rows.find((b) => String(b.case).startsWith('bare') && String(b.case).endsWith(String(r.case).split(', ').pop()!))!;
    r.ratio_rps = Number(((r.rps as number) / (base.rps as number)).toFixed(3));
    r.ratio_cpu = Number(((r.cpu_us_per_req as number) / (base.cpu_us_per_req as number)).toFixed(2));
  }
  const brokers = process.env.KAFKA_BROKERS;
  let kafka: Awaited<ReturnType<typeof kafkaRows>> | null = null;
  if (brokers) kafka = await kafkaRows(brokers, bodies);
  else process.stdout.write('KAFKA_BROKERS not set: the Kafka-log rows are skipped (eval "$(scripts/services env)")\n');
  console.table(rows);
  if (kafka) {
    console.table(kafka.rows);
    process.stdout.write(`Kafka produce (acks=all) p50 ${kafka.produce.p50} ms, p99 ${kafka.produce.p99} ms over ${kafka.produce.count} requests\n`);
  }
  return {
    seconds: SECONDS,
    warmup_seconds: WARMUP_SECONDS,
    connections: CONNECTIONS,
    cpu: 'user+system CPU of the server process and its children during the measured run (/proc/<pid>/stat), per answered request',
    durability: 'local log: fsync per group commit; Kafka log: acks=all, idempotent producer, one request in flight, single local broker',
    rows,
    kafka_rows: kafka?.rows ?? [],
    ...(kafka ? { kafka_produce_ms: kafka.produce } : { kafka_skipped: 'KAFKA_BROKERS not set' }),
  };
}
