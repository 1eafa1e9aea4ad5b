import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaGroupId } from '../src/infra/event-log/kafka.event-log.js';
import { createTenantCli, startTally, tempDataDir, type TallyProcess } from '../test/support/tally-process.js';
import { tallyCli } from '../test/support/cli.js';
import { startCollectorCluster } from '../test/support/collector-cluster.js';
import { createTestDatabase } from '../src/infra/metadata/test-database.testkit.js';
import { COLLECTOR_NODE_FLAGS } from '../src/server/collector-cluster.js';
import { treeCpuMicros } from './process-cpu.js';

/**
 * GA4 MP requests (1 and 25 events) against `tally collector` (the collector role alone, in its own
 * process) and against a bare node:http server that reads the body and answers 204. Headline: req/s
 * and the ratio to bare, measured in the same run; stable figure: CPU µs per request and per event
 * of the server process(es) alone, from /proc/<pid>/stat (the load generator runs here, in the
 * bench's process). BENCH_SECONDS per measured run (default 5; a warm-up of up to 3 s before each),
 * With KAFKA_BROKERS, DATABASE_URL and REDIS_URL: the same on Kafka through `tally collector --workers N`
 * for 1 and BENCH_WORKERS processes (default: the cores). BENCH_CONNECTIONS (64), BENCH_ROUNDS (measured runs per case, the median CPU one reported; 1), BENCH_SIZES (events per request, default 1,25). BENCH_CPU_PROF=<dir> runs the local-log collector under `node --cpu-prof`
 * (profile written at its exit into <dir>; `node bench/cpuprofile-summary.mjs <file>` sums it).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Math.min(3, SECONDS);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const WORKERS = Number(process.env.BENCH_WORKERS ?? os.availableParallelism());
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));

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

/** The middle value (the lower of the two middle ones for an even count). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1];
}

/**
 * A warm-up, then BENCH_ROUNDS measured runs, each with the CPU the server process tree used
 * during it; the round with the median CPU per request is reported (the machine is shared).
 */
async function measure(url: string, body: string, events: number, pid: number): Promise<Measured> {
  const opts = { url, method: 'POST' as const, body, connections: CONNECTIONS, headers: { 'content-type': 'application/json' } };
  await autocannon({ ...opts, duration: WARMUP_SECONDS });
  const runs: Measured[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const before = treeCpuMicros(pid);
    const r = await autocannon({ ...opts, duration: SECONDS });
    const cpu = treeCpuMicros(pid) - before;
    const answered = Math.max(1, r.requests.total);
    runs.push({
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors,
      cpuPerRequest: Math.round(cpu / answered),
      cpuPerEvent: Number((cpu / answered / events).toFixed(1)),
    });
  }
  const mid = median(runs.map((r) => r.cpuPerRequest));
  return runs.find((r) => r.cpuPerRequest === mid)!;
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
  const prof = process.env.BENCH_CPU_PROF;
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const nodeArgs = [...extra, ...(prof && !env.TALLY_EVENT_LOG ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(prof)}`] : [])];
  const tally = await startTally({ dataDir: setup.dataDir, role: 'collector', nodeArgs, env });
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

/**
 * The same load on the services profile (PostgreSQL, Redis, Kafka with fresh topics), through
 * `tally collector --workers N` for each N in `workers`: CPU is the primary's and its workers'.
 */
async function kafkaRows(
  svc: { brokers: string; databaseUrl: string; redisUrl: string },
  bodies: Map<number, string>,
  workers: number[],
): Promise<{ rows: Record<string, unknown>[]; produce: ProduceLatency | null }> {
  const id = Date.now().toString(36);
  const topics = [`bench.collector.${id}.raw-events`, `bench.collector.${id}.dead-letter`];
  const db = await createTestDatabase(svc.databaseUrl, 'bench');
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: svc.redisUrl,
    TALLY_COUNTERS_PREFIX: `bench.${id}:counters`,
    TALLY_EVENT_LOG: 'kafka',
    KAFKA_BROKERS: svc.brokers,
    KAFKA_TOPIC_RAW: topics[0],
    KAFKA_TOPIC_DEAD_LETTER: topics[1],
  };
  const rows: Record<string, unknown>[] = [];
  let produce: ProduceLatency | null = null;
  try {
    const tenant = JSON.parse(
      await tallyCli(
        tempDataDir('tally-bench-cli-'),
        ['tenant', 'create', '--name', 'Bench', '--email', 'b@bench.example.com', '--domain', 'bench.example.com', '--plan', 'scale', '--json'],
        env,
      ),
    ) as { measurementId: string; apiSecret: string };
    for (const n of workers) {
      // one process runs in place, without the flags the primary gives its workers: the same flags here
      const c = await startCollectorCluster(n, env, n === 1 ? COLLECTOR_NODE_FLAGS : []);
      const mp = `${c.baseUrl}/mp/collect?measurement_id=${tenant.measurementId}&api_secret=${tenant.apiSecret}`;
      try {
        for (const [events, body] of bodies)
          rows.push(row(`collector, Kafka log, ${n} process${n > 1 ? 'es' : ''}`, events, await measure(mp, body, events, c.child.pid!)));
      } finally {
        await c.stop();
      }
      produce ??= produceLatencyOf(c.output());
    }
  } finally {
    const admin = new Kafka({ clientId: 'tally-bench', brokers: svc.brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.deleteGroups(topics.map((t) => kafkaGroupId('archiver', t))).catch(() => undefined);
    await admin.disconnect();
    await db.drop();
  }
  return { rows, produce };
}

export async function run() {
  const sizes = (process.env.BENCH_SIZES ?? '1,25').split(',').map(Number);
  const bodies = new Map(sizes.map((n) => [n, mpBody(n, String(n))]));
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
  const { KAFKA_BROKERS: brokers, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl } = process.env;
  let kafka: Awaited<ReturnType<typeof kafkaRows>> | null = null;
  if (brokers && databaseUrl && redisUrl) kafka = await kafkaRows({ brokers, databaseUrl, redisUrl }, bodies, [...new Set([1, WORKERS])]);
  else process.stdout.write('KAFKA_BROKERS, DATABASE_URL or REDIS_URL not set: the Kafka rows are skipped (eval "$(scripts/services env)")\n');
  console.table(rows);
  if (kafka) {
    console.table(kafka.rows);
    if (kafka.produce)
      process.stdout.write(
        `Kafka produce (acks=all), 1 process: p50 ${kafka.produce.p50} ms, p99 ${kafka.produce.p99} ms over ${kafka.produce.count} requests\n`,
      );
  }
  return {
    seconds: SECONDS,
    rounds: ROUNDS,
    warmup_seconds: WARMUP_SECONDS,
    connections: CONNECTIONS,
    cpu: 'user+system CPU of the server process and its children during the measured run (/proc/<pid>/stat), per answered request',
    workers: WORKERS,
    durability: 'local log: fsync per group commit; Kafka log: acks=all, idempotent producer, one request in flight per process, single local broker',
    rows,
    kafka_rows: kafka?.rows ?? [],
    ...(kafka ? { kafka_produce_ms: kafka.produce } : { kafka_skipped: 'KAFKA_BROKERS, DATABASE_URL or REDIS_URL not set' }),
  };
}
