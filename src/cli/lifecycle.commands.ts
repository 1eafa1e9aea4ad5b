import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../infra/config/config.js';
import { CliError, openOperator } from './operator.js';
import { failed } from './operator.commands.js';
import { progressBar } from './progress.js';

interface Receipt {
  id: string;
  state: string;
  counts: Record<string, number>;
}

/**
 * `tally delete-user`, `tally export`, `tally import`, `tally retention run`: the data lifecycle
 * (src/lifecycle), run as jobs by the process holding the data dir (or by a worker started here),
 * so they work on the embedded defaults and on the services profile alike. Files are read and
 * written by that process: paths are made absolute here.
 */
export function registerLifecycleCommands(program: Command, config: () => Config): void {
  const run = async (o: { json?: boolean }, label: string, name: string, data: Record<string, unknown>, text: (r: any) => string) => {
    try {
      const op = await openOperator(config(), { scope: 'worker' });
      const bar = progressBar(label);
      let result: unknown;
      try {
        result = await op.runJob(name, data, (d, t, unit) => bar.update(d, t, unit));
      } catch (e) {
        throw new CliError(`tally ${label}: ${(e as Error).message}`);
      } finally {
        bar.stop();
      }
      process.stdout.write((o.json ? JSON.stringify(result) : text(result)) + '\n');
    } catch (e) {
      failed(e);
    }
  };

  program
    .command('delete-user')
    .description(
      "delete one person's data from a property (GDPR / CCPA): raw zone rewritten without them, transformed partitions rebuilt, warehouse reloaded; prints the receipt",
    )
    .requiredOption('--property <id>', 'property id')
    .option('--user-id <id>', 'the user id to delete')
    .option('--client-id <id>', 'the client id (cookie / device id) to delete')
    .requiredOption('--reason <text>', 'why (kept on the receipt and in the audit log), e.g. the request ticket')
    .option('--json', 'print the receipt as one JSON document')
    .addHelpText('after', '\nExactly one of --user-id and --client-id. The receipt keeps a SHA-256 of the id, never the id.')
    .action((o) => {
      if (Boolean(o.userId) === Boolean(o.clientId)) failed(new CliError('give exactly one of --user-id and --client-id', 2));
      return run(
        o,
        'delete-user',
        'delete-user',
        { propertyId: o.property, options: { ...(o.userId ? { userId: o.userId } : { clientId: o.clientId }), reason: o.reason } },
        (r) => {
          const receipt = r.receipt as Receipt;
          return [
            `deletion ${receipt.id}: ${receipt.state}`,
            ...Object.entries(r.counts as Record<string, number>).map(([k, v]) => `  ${k.padEnd(38)} ${v}`),
          ].join('\n');
        },
      );
    });

  program
    .command('export')
    .description("write a property's events of local dates --from..--to to a file in GA4's BigQuery export layout")
    .requiredOption('--property <id>', 'property id')
    .requiredOption('--from <date>', 'first local date, YYYY-MM-DD')
    .requiredOption('--to <date>', 'last local date, YYYY-MM-DD (included)')
    .option('--format <format>', 'parquet | ndjson | csv', 'ndjson')
    .requiredOption('--out <file>', 'the file to write')
    .option('--json', 'print the result as one JSON document')
    .action((o) =>
      run(
        o,
        'export',
        'export-file',
        { propertyId: o.property, options: { from: o.from, to: o.to, format: o.format, out: path.resolve(o.out) } },
        (r) => `${r.rows} events written to ${r.out}`,
      ),
    );

  program
    .command('import')
    .description('backfill a property from an NDJSON or CSV file of events that keep their timestamps (idempotent by event id)')
    .requiredOption('--property <id>', 'property id')
    .argument('<file>', 'NDJSON (one event per line) or CSV with a header (see README: "Import")')
    .option('--format <format>', 'ndjson | csv (default: by the file name, else its first character)')
    .option('--json', 'print the result as one JSON document')
    .action((file: string, o) =>
      run(o, 'import', 'import-file', { propertyId: o.property, options: { file: path.resolve(file), ...(o.format ? { format: o.format } : {}) } }, (r) =>
        [
          `${r.imported} of ${r.rows} rows imported, ${r.refused.length} refused`,
          ...(r.refused as { line: number; reason: string }[]).map((x) => `  line ${x.line}: ${x.reason}`),
        ].join('\n'),
      ),
    );

  const retention = program.command('retention').description('data retention per property and data class (raw, transformed, warehouse, dead letters)');
  retention
    .command('run')
    .description("enforce every property's retention now (the scheduler runs it daily) and purge the data of deleted properties")
    .option('--json', 'print the result as one JSON document')
    .action((o) =>
      run(o, 'retention', 'retention', {}, (r) =>
        Object.entries(r as Record<string, number>)
          .map(([k, v]) => `${k.padEnd(20)} ${v}`)
          .join('\n'),
      ),
    );
}
