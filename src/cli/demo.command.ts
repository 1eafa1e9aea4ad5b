import fs from 'node:fs';
import type { Config } from '../infra/config/config.js';
import type { TallyHandle } from '../server/tally-server.js';
import { randomBytes } from 'node:crypto';
import { createTenant } from '../tenancy/tenant.repository.js';
import { TenancyService } from '../tenancy/tenancy.service.js';
import { generateTraffic, type TrafficOptions } from '../demo/traffic-generator.js';
import { expectedReport, groundTruth } from '../demo/ground-truth.js';
import { sendTraffic } from '../demo/traffic-sender.js';
import { addDays, localDate } from '../domain/time-zone.js';
import { progressBar } from './progress.js';

type ViaServer = (path: string, body: unknown) => Promise<any>;

/** Traffic ending now: the last `days` local days, only what has already "happened". */
export function demoTrafficOptions(days: number, visitorsPerDay: number, seed: number, timeZone: string, now = Date.now()): TrafficOptions {
  return { seed, startDate: addDays(localDate(now, timeZone), -(days - 1)), days, timeZone, visitorsPerDay };
}

function summary(opts: TrafficOptions) {
  const gt = groundTruth(opts);
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

/** `tally demo`: send demo traffic to a running collector and write its ground truth. */
export async function runDemo(
  o: { url: string; ingestKey?: string; days: string; visitors: string; seed: string; timeZone: string; out: string },
  viaServer: ViaServer,
): Promise<void> {
  let ingestKey = o.ingestKey;
  let created: Record<string, string> | undefined;
  if (!ingestKey) {
    created = await viaServer('/internal/v1/tenants', { name: 'Demo', email: 'demo@example.com', domain: 'shop.example.com', timeZone: o.timeZone });
    if (!created) throw new Error('no running server on this data dir: start `tally serve` or pass --url and --ingest-key');
    ingestKey = created.ingestKey;
  }
  const now = Date.now();
  // The latest days are always partly in the future; and nothing older than 72 h is accepted.
  const days = Math.min(Math.max(1, Number(o.days)), 3);
  const opts = demoTrafficOptions(days, Number(o.visitors), Number(o.seed), o.timeZone, now);
  const bar = progressBar('demo');
  const r = await sendTraffic(generateTraffic(opts), {
    baseUrl: o.url.replace(/\/$/, ''),
    ingestKey,
    filter: (i) => i.event.timestamp <= now && i.event.timestamp > now - 71 * 3_600_000,
    onProgress: (n) => bar.update(n, n + 1),
  });
  bar.stop();
  fs.writeFileSync(o.out, JSON.stringify({ tenant: created ? { ...created, apiSecret: undefined } : undefined, sent: r, groundTruth: summary(opts) }, null, 2));
  process.stdout.write(`sent ${r.sent} events (${r.accepted} accepted, ${r.rejected} rejected); ground truth in ${o.out}\n`);
  if (days !== Number(o.days)) process.stdout.write('note: at most 3 days are sent (events older than 72 h are refused)\n');
}

/**
 * `npm start` on an empty data dir: a demo tenant with a few days of traffic, sent through the
 * real collector after it is listening, then transformed and loaded, then a ready-to-run curl.
 */
export async function seedDemo(tally: TallyHandle, cfg: Config): Promise<void> {
  const any = await tally.db('organizations').first();
  if (any) return;
  const timeZone = 'UTC';
  const t = await createTenant(tally.db, { name: 'Demo', email: 'demo@example.com', domain: 'shop.example.com', timeZone });
  // a console login for the demo owner: random per data dir (the server may listen beyond loopback)
  const demoPassword = `demo-${randomBytes(9).toString('base64url')}`;
  await new TenancyService(tally.db).createUser({ email: 'demo@example.com', password: demoPassword, name: 'Demo', verified: true });
  await tally.credentials.refresh();
  const now = Date.now();
  const opts = demoTrafficOptions(3, 150, 42, timeZone, now);
  const r = await sendTraffic(generateTraffic(opts), {
    baseUrl: `http://127.0.0.1:${tally.port}`,
    ingestKey: t.ingestKey,
    filter: (i) => i.event.timestamp <= now && i.event.timestamp > now - 71 * 3_600_000,
  });
  await tally.archiver?.caughtUp(120_000);
  await tally.runPipeline(t.propertyId);
  fs.writeFileSync(`${cfg.core.dataDir}/demo-ground-truth.json`, JSON.stringify(summary(opts), null, 2));
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
