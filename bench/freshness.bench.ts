import fs from 'node:fs';
import { createTenantCli, startTally, type TallyProcess, type TenantKeys } from '../test/support/tally-process.js';

const PROBES = Number(process.env.BENCH_PROBES ?? 3);
/** Steady load (issue 20): events/s and seconds; `BENCH_RATE=0` runs only the probes. */
const RATE = Number(process.env.BENCH_RATE ?? 20_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 600);
const REPORT_EVERY_S = Number(process.env.BENCH_REPORT_SECONDS ?? 30);
const BATCH = 25;
/** Requests in flight at most: a collector that falls behind slows the load, it is not queued here. */
const IN_FLIGHT = 32;
/** Distinct visitors the load cycles through (about 8 events each per session at 20k/s over 10 min). */
const VISITORS = Number(process.env.BENCH_VISITORS ?? 50_000);

/**
 * Freshness. Probe mode: seconds from a 2xx at the collector until runReport counts the event.
 * Steady mode (`BENCH_RATE` events/s for `BENCH_SECONDS`, 25-event requests, a scale-plan tenant):
 * every `BENCH_REPORT_SECONDS` the transform cycles' mean duration and events per cycle in that
 * interval (from `/metrics`), the age of the reports' "complete up to" mark and the server's RSS;
 * then the probes. Pass (issue 20): cycle time flat while the load is flat, freshness ≤ 60 s, RSS flat.
 */
export async function run() {
  const tally = await startTally({ env: { LOG_LEVEL: 'error' } });
  const t = await createTenantCli(tally.dataDir, 'Fresh', RATE > 0 ? ['--plan', 'scale'] : []);
  try {
    const steady = RATE > 0 && SECONDS > 0 ? await steadyLoad(tally, t) : null;
    const probes = await probe(tally, t);
    console.table(probes);
    const worst = Math.max(...probes.map((r) => r.seconds));
    return { intervalMs: 30_000, probes, worstSeconds: worst, targetSeconds: 60, ...(steady ?? {}) };
  } finally {
    await tally.stop();
  }
}

async function probe(tally: TallyProcess, t: TenantKeys): Promise<{ probe: number; seconds: number }[]> {
  const rows: { probe: number; seconds: number }[] = [];
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
      const body = await report(tally, t, name);
      if (Number(body.rows?.[0]?.metricValues[0].value ?? 0) === 1) break;
      if (performance.now() - acked > 180_000) throw new Error('event not visible after 180 s');
      await new Promise((res) => setTimeout(res, 250));
    }
    rows.push({ probe: i, seconds: Number(((performance.now() - acked) / 1000).toFixed(1)) });
  }
  return rows;
}

interface ReportBody {
  rows?: { metricValues: { value: string }[] }[];
  metadata?: { tallyCompleteUpTo?: string };
}

async function report(tally: TallyProcess, t: TenantKeys, eventName?: string): Promise<ReportBody> {
  const rep = await fetch(`${tally.baseUrl}/v1beta/properties/${t.propertyId}:runReport`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.readKey}` },
    body: JSON.stringify({
      dateRanges: [{ startDate: 'yesterday', endDate: 'today' }],
      metrics: [{ name: 'eventCount' }],
      ...(eventName ? { dimensionFilter: { filter: { fieldName: 'eventName', stringFilter: { value: eventName } } } } : {}),
    }),
  });
  return (await rep.json()) as ReportBody;
}

/** Sum and count of a histogram, and a counter's value, from the Prometheus text of `/metrics`. */
async function jobFigures(tally: TallyProcess): Promise<{ seconds: number; cycles: number; events: number }> {
  const text = await (await fetch(`${tally.baseUrl}/metrics`)).text();
  const value = (re: RegExp) => text.split('\n').reduce((n, line) => (re.test(line) ? n + Number(line.slice(line.lastIndexOf(' ') + 1)) : n), 0);
  return {
    seconds: value(/^tally_job_duration_seconds_sum\{[^}]*job="transform"/),
    cycles: value(/^tally_job_duration_seconds_count\{[^}]*job="transform"/),
    events: value(/^tally_transform_events_total(\{| )/),
  };
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function steadyLoad(tally: TallyProcess, t: TenantKeys) {
  const pid = tally.child.pid!;
  const started = Date.now();
  const end = started + SECONDS * 1000;
  let sent = 0;
  let acked = 0;
  let refused = 0;
  let inFlight = 0;
  const send = async () => {
    inFlight++;
    const now = Date.now();
    const events = Array.from({ length: BATCH }, (_, i) => {
      const v = (sent + i) % VISITORS;
      return { name: i % 5 === 0 ? 'page_view' : 'scroll', client_id: `v.${v}`, url: `https://fresh.example.com/p/${v % 97}`, timestamp: now };
    });
    sent += BATCH;
    try {
      const r = await fetch(`${tally.baseUrl}/v1/collect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.ingestKey}` },
        body: JSON.stringify({ events }),
      });
      await r.arrayBuffer();
      if (r.status === 200) acked += BATCH;
      else refused += BATCH;
    } catch {
      refused += BATCH;
    } finally {
      inFlight--;
    }
  };
  // the load: every 50 ms, the requests that keep the rate (fewer when the collector lags)
  const driver = (async () => {
    while (Date.now() < end) {
      const due = Math.floor((((Date.now() - started) / 1000) * RATE) / BATCH) - sent / BATCH;
      for (let i = 0; i < due && inFlight < IN_FLIGHT; i++) void send();
      await new Promise((res) => setTimeout(res, 50));
    }
  })();
  const rows: Record<string, number>[] = [];
  let last = await jobFigures(tally);
  let lastAcked = 0;
  let lastAt = Date.now();
  while (Date.now() < end) {
    await new Promise((res) => setTimeout(res, Math.min(REPORT_EVERY_S * 1000, Math.max(0, end - Date.now()))));
    const now = await jobFigures(tally);
    const body = await report(tally, t);
    const mark = body.metadata?.tallyCompleteUpTo ? Date.parse(body.metadata.tallyCompleteUpTo) : null;
    const cycles = now.cycles - last.cycles;
    const row = {
      at_s: Math.round((Date.now() - started) / 1000),
      acked_per_s: Math.round(((acked - lastAcked) * 1000) / Math.max(1, Date.now() - lastAt)),
      cycles,
      cycle_s: cycles ? Number(((now.seconds - last.seconds) / cycles).toFixed(2)) : 0,
      // rows written (tally_transform_events_total): an open session's rows count again each cycle it is rewritten
      events_written_per_cycle: cycles ? Math.round((now.events - last.events) / cycles) : 0,
      complete_age_s: mark === null ? -1 : Math.round((Date.now() - mark) / 1000),
      rss_mb: rssMb(pid),
    };
    rows.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
    last = now;
    lastAcked = acked;
    lastAt = Date.now();
  }
  await driver;
  while (inFlight > 0) await new Promise((res) => setTimeout(res, 50));
  console.table(rows);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const halves = (xs: number[]) => [mean(xs.slice(0, Math.floor(xs.length / 2))), mean(xs.slice(Math.floor(xs.length / 2)))];
  const cycleHalves = halves(rows.filter((r) => r.cycles > 0).map((r) => r.cycle_s));
  const rssHalves = halves(rows.map((r) => r.rss_mb));
  const summary = {
    rate: RATE,
    seconds: SECONDS,
    sent,
    acked,
    refused,
    worstCompleteAgeSeconds: Math.max(...rows.map((r) => r.complete_age_s)),
    cycleSecondsFirstHalf: Number(cycleHalves[0].toFixed(2)),
    cycleSecondsSecondHalf: Number(cycleHalves[1].toFixed(2)),
    rssMbFirstHalf: Math.round(rssHalves[0]),
    rssMbSecondHalf: Math.round(rssHalves[1]),
  };
  console.table([summary]);
  return { steady: rows, summary };
}
