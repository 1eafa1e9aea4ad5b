import fs from 'node:fs';
import type { Config } from '../infra/config/config.js';
import type { TallyHandle } from '../server/tally-server.js';
import { randomBytes } from 'node:crypto';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { CliError, type Operator } from './operator.js';
import { TenancyService } from '../tenancy/tenancy.service.js';
import { generateTraffic, type TrafficOptions } from '../demo/traffic-generator.js';
import { expectedReport, groundTruth } from '../demo/ground-truth.js';
import { sendTraffic } from '../demo/traffic-sender.js';
import { addDays, localDate } from '../domain/time-zone.js';
import { progressBar } from './progress.js';

/** The collector refuses events older than 72 h; an hour of margin for the time the sending takes. */
const ACCEPTED_AGE_MS = 71 * 3_600_000;

/**
 * Traffic ending now: the last `days` local days, only the sessions that have already happened
 * whole and that the collector still accepts. The ground truth is computed over the same
 * sessions, so today's figures match what was sent (a session later today is in neither).
 */
export function demoTrafficOptions(days: number, visitorsPerDay: number, seed: number, timeZone: string, now = Date.now()): TrafficOptions {
  return {
    seed,
    startDate: addDays(localDate(now, timeZone), -(days - 1)),
    days,
    timeZone,
    visitorsPerDay,
    window: { fromMs: now - ACCEPTED_AGE_MS, toMs: now },
  };
}

function summary(opts: TrafficOptions, gt = groundTruth(opts)) {
  const endDate = addDays(opts.startDate, opts.days - 1);
  const toObj = (m: Map<string, unknown>) => Object.fromEntries(m);
  return {
    options: opts,
    overall: expectedReport(gt, { startDate: opts.startDate, endDate }).get(''),
    byDate: toObj(expectedReport(gt, { startDate: opts.startDate, endDate, dimension: 'date' })),
    bySessionSource: toObj(expectedReport(gt, { startDate: opts.startDate, endDate, dimension: 'sessionSource' })),
    byCountry: toObj(expectedReport(gt, { startDate: opts.startDate, endDate, dimension: 'country' })),
  };
}

/**
 * `tally demo`: send demo traffic to a running collector and write its ground truth. The file
 * holds the new tenant's ingest and read keys: it is written 0600, like the admin token.
 */
export async function runDemo(
  o: { url: string; ingestKey?: string; days: string; visitors: string; seed: string; timeZone: string; out: string; json?: boolean },
  operator: () => Promise<Operator>,
): Promise<void> {
  let ingestKey = o.ingestKey;
  let created: CreatedTenant | undefined;
  if (!ingestKey) {
    const op = await operator();
    // a tenant made in a data dir no server uses would never receive this traffic
    if (op.via.kind !== 'server') throw new CliError('no running server on this data dir: start `tally serve` or pass --url and --ingest-key');
    created = await op.createTenant({ name: 'Demo', email: 'demo@example.com', domain: 'shop.example.com', timeZone: o.timeZone });
    ingestKey = created.ingestKey;
  }
  const now = Date.now();
  // nothing older than 72 h is accepted
  const days = Math.min(Math.max(1, Number(o.days)), 3);
  const opts = demoTrafficOptions(days, Number(o.visitors), Number(o.seed), o.timeZone, now);
  const gt = groundTruth(opts);
  const truth = summary(opts, gt);
  const total = gt.stats.sentEvents;
  const bar = progressBar('demo');
  const r = await sendTraffic(generateTraffic(opts), {
    baseUrl: o.url.replace(/\/$/, ''),
    ingestKey,
    onProgress: (n) => bar.update(n, total, 'events'),
  });
  bar.stop();
  writePrivateFile(o.out, JSON.stringify({ tenant: created ? { ...created, apiSecret: undefined } : undefined, sent: r, groundTruth: truth }, null, 2));
  const note = days !== Number(o.days) ? 'at most 3 days are sent (events older than 72 h are refused)' : undefined;
  if (o.json) process.stdout.write(JSON.stringify({ ...r, propertyId: created?.propertyId, out: o.out, note }) + '\n');
  else {
    process.stdout.write(`sent ${r.sent} events (${r.accepted} accepted, ${r.rejected} rejected); ground truth in ${o.out} (mode 0600: it holds the keys)\n`);
    if (note) process.stdout.write(`note: ${note}\n`);
  }
}

/** Writes `file` readable by its owner only, also when it already exists with wider modes. */
export function writePrivateFile(file: string, text: string): void {
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
    fs.writeFileSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `npm start` on an empty data dir: a demo tenant with a few days of traffic, sent through the
 * real collector after it is listening, then transformed and loaded, then a ready-to-run curl.
 */
export async function seedDemo(tally: TallyHandle, cfg: Config): Promise<void> {
  const any = await tally.db('organizations').first();
  if (any) return;
  const timeZone = 'UTC';
  // on the plan with every feature (tenant SQL, replay, export, realtime), so the README's
  // requests all work on `npm start`; the plan's limits are far above the demo's traffic
  const t = await createTenant(tally.db, { name: 'Demo', email: 'demo@example.com', domain: 'shop.example.com', timeZone, planId: 'scale' });
  // a console login for the demo owner: random per data dir (the server may listen beyond loopback)
  const demoPassword = `demo-${randomBytes(9).toString('base64url')}`;
  await new TenancyService(tally.db).createUser({ email: 'demo@example.com', password: demoPassword, name: 'Demo', verified: true });
  await tally.credentials.refresh();
  const now = Date.now();
  const opts = demoTrafficOptions(3, 150, 42, timeZone, now);
  const r = await sendTraffic(generateTraffic(opts), {
    baseUrl: `http://127.0.0.1:${tally.port}`,
    ingestKey: t.ingestKey,
  });
  await tally.archiver?.caughtUp(120_000);
  await tally.runPipeline(t.propertyId);
  writePrivateFile(`${cfg.core.dataDir}/demo-ground-truth.json`, JSON.stringify(summary(opts), null, 2));
  const base = `http://localhost:${tally.port}`;
  const body = JSON.stringify({
    dateRanges: [{ startDate: '7daysAgo', endDate: 'today' }],
    dimensions: [{ name: 'date' }],
    metrics: [{ name: 'activeUsers' }, { name: 'sessions' }, { name: 'screenPageViews' }, { name: 'bounceRate' }],
    orderBys: [{ dimension: { dimensionName: 'date' } }],
  });
  process.stdout.write(
    [
      '',
      `Demo tenant ready: ${r.accepted} events sent through the collector, transformed and loaded.`,
      `  property id     ${t.propertyId}`,
      `  measurement id  ${t.measurementId}`,
      `  api secret      ${t.apiSecret}`,
      `  ingest key      ${t.ingestKey}`,
      `  read key        ${t.readKey}`,
      '',
      `Web console: ${base}/  (log in as demo@example.com, password ${demoPassword})`,
      '',
      'Try a report:',
      `  curl -s ${base}/v1beta/properties/${t.propertyId}:runReport \\`,
      `    -H 'Authorization: Bearer ${t.readKey}' \\`,
      `    -d '${body}'`,
      '',
    ].join('\n'),
  );
}
