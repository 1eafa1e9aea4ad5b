import type { Command } from 'commander';
import type { Config } from '../infra/config/config.js';
import type { ReplayView } from '../support/replay.repository.js';
import type { DeadLetterListing, RedriveResult } from '../support/dead-letters.service.js';
import type { VisitorInspection } from '../support/inspector.service.js';
import { CliError } from './operator.js';
import { common, print, withOperator } from './operator.commands.js';
import { progressBar } from './progress.js';

/**
 * `tally replay`, `tally dead-letters list|redrive`, `tally inspect`: the support tools (src/support)
 * as the local operator, run by the process holding the data dir (or by this one), audited as
 * `operator` in the organisation's audit log.
 */
export function registerSupportCommands(program: Command, config: () => Config): void {
  const withOp = withOperator(config);
  const job = async (op: Parameters<Parameters<typeof withOp>[0]>[0], name: string, data: Record<string, unknown>) => {
    const bar = progressBar(name);
    try {
      return await op.runJob(name, data, (d, t, unit) => bar.update(d, t, unit));
    } catch (e) {
      throw new CliError(`tally ${name}: ${(e as Error).message}`);
    } finally {
      bar.stop();
    }
  };

  common(
    program
      .command('replay')
      .description("re-run transform and load of a property's dates from the raw zone with its current settings; --dry-run only shows the diff")
      .requiredOption('--property <id>', 'the property')
      .requiredOption('--from <date>', 'first local date, YYYY-MM-DD')
      .requiredOption('--to <date>', 'last local date, YYYY-MM-DD')
      .requiredOption('--reason <text>', 'why (kept in the audit log)')
      .option('--dry-run', 'stage and diff only: the warehouse and the transformed zone stay as they are'),
  ).action(
    withOp(async (op, o) => {
      const data = { propertyId: String(o.property), from: o.from, to: o.to, reason: o.reason, dryRun: Boolean(o.dryRun) };
      const r = (await job(op, 'replay', data)) as ReplayView;
      print(o, r, () => replayText(r));
    }, 'worker'),
  );

  const dl = program.command('dead-letters').description("a property's refused events: counts by reason with samples, and redrive");
  common(
    dl
      .command('list')
      .description('counts by reason and samples of the kept dead letters (UTC dates of receipt, default the last 30 days)')
      .requiredOption('--property <id>', 'the property')
      .option('--reason <reason>', 'only this reason (e.g. hostname_not_allowed)')
      .option('--since <date>', 'from this UTC date, YYYY-MM-DD')
      .option('--until <date>', 'to this UTC date, YYYY-MM-DD'),
  ).action(
    withOp(async (op, o) => {
      const r = (await job(op, 'dead-letters', { propertyId: String(o.property), reason: o.reason, since: o.since, until: o.until })) as DeadLetterListing;
      print(o, r, () =>
        r.total
          ? [
              `${r.total} dead letter(s), ${r.since}..${r.until}`,
              ...r.byReason.map((b) => `  ${b.reason.padEnd(24)} ${b.count}   e.g. ${b.samples[0]?.detail ?? ''}`),
            ].join('\n')
          : `no dead letters ${r.since}..${r.until}`,
      );
    }, 'worker'),
  );
  common(
    dl
      .command('redrive')
      .description("send the dead letters of one reason through today's ingest rules into the event log again (idempotent by event id, audited)")
      .requiredOption('--property <id>', 'the property')
      .requiredOption('--reason <reason>', 'the reason they were refused under (e.g. hostname_not_allowed)')
      .option('--from <date>', 'from this UTC date of receipt, YYYY-MM-DD')
      .option('--to <date>', 'to this UTC date of receipt, YYYY-MM-DD')
      .option('--note <text>', 'why (kept in the audit log)'),
  ).action(
    withOp(async (op, o) => {
      const r = (await job(op, 'redrive', { propertyId: String(o.property), reason: o.reason, from: o.from, to: o.to, note: o.note })) as RedriveResult;
      print(o, r, () =>
        [
          `${r.letters} dead letter(s) ${r.reason}, ${r.from}..${r.to}: ${r.appended} sent to the event log, ${r.alreadyRedriven} sent before`,
          ...r.stillRefused.map((s) => `  still refused: ${s.reason} ${s.count}`),
          r.appended ? 'They are counted after the next transform run (tally jobs run pipeline).' : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
    }, 'worker'),
  );

  common(
    program
      .command('inspect')
      .description(
        "one visitor's raw events (the raw zone, and the event log's tail not yet archived: source log) and dead letters beside their transformed events and sessions, with why each was or was not counted",
      )
      .requiredOption('--property <id>', 'the property')
      .option('--client-id <id>', 'the client id (cookie / app instance id)')
      .option('--user-id <id>', 'the user id')
      .option('--from <date>', 'first local date, YYYY-MM-DD (default 7 days ago)')
      .option('--to <date>', 'last local date, YYYY-MM-DD (default today)'),
  ).action(
    withOp(async (op, o) => {
      if (!o.clientId === !o.userId) throw new CliError('give --client-id or --user-id (one of them)', 2);
      const r = (await job(op, 'inspect', {
        propertyId: String(o.property),
        clientId: o.clientId,
        userId: o.userId,
        from: o.from,
        to: o.to,
      })) as VisitorInspection;
      print(o, r, () =>
        [
          `${r.clientId ? `client ${r.clientId}` : `user ${r.userId}`}, property ${r.propertyId}, ${r.from}..${r.to}: ${r.events.length} event(s), ${r.sessions.length} session(s)`,
          ...r.events.map((e) => `  ${e.eventTime}  ${e.name.padEnd(20)} ${e.source.padEnd(10)} ${e.verdict.padEnd(20)} ${e.why}`),
          ...r.notes.map((n) => `note: ${n}`),
        ].join('\n'),
      );
    }, 'worker'),
  );
}

function replayText(r: ReplayView): string {
  const lines = [`replay ${r.id} (${r.dryRun ? 'dry run' : 'real'}) of property ${r.propertyId}, ${r.from}..${r.to}: ${r.state}, ${r.events} events`];
  if (r.error) lines.push(`error: ${r.error}`);
  if (r.diff) {
    lines.push('date        users        sessions     views        bounce rate      key events');
    const cell = (b: number, a: number) => `${b}->${a}`.padEnd(13);
    for (const d of r.diff.days)
      lines.push(
        `${d.date}  ${cell(d.before.users, d.after.users)}${cell(d.before.sessions, d.after.sessions)}${cell(d.before.views, d.after.views)}` +
          `${`${d.before.bounceRate.toFixed(3)}->${d.after.bounceRate.toFixed(3)}`.padEnd(17)}${d.before.keyEvents}->${d.after.keyEvents}`,
      );
    if (r.diff.sources.length) lines.push(`sources changing most: ${r.diff.sources.map((s) => `${s.name} ${s.change > 0 ? '+' : ''}${s.change}`).join(', ')}`);
    if (r.diff.channels?.length)
      lines.push(`channels changing most: ${r.diff.channels.map((s) => `${s.name} ${s.change > 0 ? '+' : ''}${s.change}`).join(', ')}`);
    if (r.diff.pages.length) lines.push(`pages changing most: ${r.diff.pages.map((s) => `${s.name} ${s.change > 0 ? '+' : ''}${s.change}`).join(', ')}`);
  }
  return lines.join('\n');
}
