import type { Command } from 'commander';
import type { Config } from '../infra/config/config.js';
import { openDb, type Db } from '../infra/metadata/db.js';
import { reconcile, reportUsage, syncPlans } from '../billing/usage-report.js';
import { billingProvider } from '../server/billing.module.js';
import { CliError } from './operator.js';
import { failed } from './operator.commands.js';
import { progressBar } from './progress.js';

/**
 * `tally billing sync-plans | report-usage | reconcile`: Stripe billing runs on shared services
 * (metadata on PostgreSQL, DATABASE_URL), which any number of processes open safely; an embedded
 * data dir has no Stripe billing (provider none).
 */
export function registerBillingCommands(program: Command, config: () => Config): void {
  const billing = program.command('billing').description('Stripe billing: sync plans to Stripe, send usage meter events, reconcile a month');
  const run =
    (fn: (db: Db, cfg: Config, o: any) => Promise<void>, stripe = true) =>
    async (o: any) => {
      try {
        const cfg = config();
        if (!cfg.db.url) throw new CliError('billing commands need DATABASE_URL (Stripe billing runs with metadata on PostgreSQL)', 2);
        if (stripe && cfg.billing.provider !== 'stripe') throw new CliError('STRIPE_SECRET_KEY is not set: billing is off (provider none)', 2);
        const db = await openDb({ url: cfg.db.url, dataDir: cfg.core.dataDir });
        try {
          await fn(db, cfg, o);
        } finally {
          await db.destroy();
        }
      } catch (e) {
        failed(e);
      }
    };
  const out = (o: { json?: boolean }, value: unknown, text: () => string) => process.stdout.write((o.json ? JSON.stringify(value) : text()) + '\n');

  billing
    .command('sync-plans')
    .description('create or update the Stripe product, flat monthly price and metered overage price of every plan, and store their ids (safe to run twice)')
    .option('--json', 'print one JSON document')
    .action(
      run(async (db, cfg, o) => {
        const bar = progressBar('plans');
        const r = await syncPlans(db, billingProvider(cfg), (done, total) => bar.update(done, total, 'plans'));
        bar.stop();
        out(o, r, () =>
          [
            `meter ${r.meterId}`,
            ...r.plans.map((p) => `${p.planId}: product ${p.productId}, price ${p.priceId ?? '-'}, overage ${p.overagePriceId ?? '-'}`),
          ].join('\n'),
        );
      }),
    );

  billing
    .command('report-usage')
    .description('send every settled hour of usage_hourly not yet reported as a Stripe meter event (identifier {orgId}-{hour}; what the worker does hourly)')
    .option('--json', 'print one JSON document')
    .action(
      run(async (db, cfg, o) => {
        const r = await reportUsage({ db, provider: billingProvider(cfg) });
        out(o, r, () => `${r.sent} hour(s) sent, ${r.failed} failed (retried on the next run)`);
        if (r.failed) process.exitCode = 1;
      }),
    );

  billing
    .command('reconcile')
    .description('for a UTC month: the events usage_hourly counted per organisation, what was reported to Stripe, and the difference')
    .requiredOption('--month <YYYY-MM>', 'the month, e.g. 2026-12')
    .option('--json', 'print one JSON document')
    .action(
      run(async (db, _cfg, o) => {
        const rows = await reconcile(db, o.month);
        out(o, rows, () =>
          rows.length
            ? ['ORGANISATION\tCOUNTED\tREPORTED\tDIFFERENCE', ...rows.map((r) => `${r.organizationId}\t${r.counted}\t${r.reported}\t${r.difference}`)].join(
                '\n',
              )
            : `no usage in ${o.month}`,
        );
        if (rows.some((r) => r.difference !== 0)) process.exitCode = 4;
      }, false),
    );
}
