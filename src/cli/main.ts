import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { checkRoles, loadConfig, ConfigError, type Config } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { startTally, type Role } from '../server/tally-server.js';
import { isCollectorWorker, joinCollectorCluster, parseWorkers, runCollectorPrimary, whyNotSeveral } from '../server/collector-cluster.js';
import { seedDemo } from './demo.command.js';
import { registerOperatorCommands, failed } from './operator.commands.js';
import { registerLifecycleCommands } from './lifecycle.commands.js';
import { registerBillingCommands } from './billing.commands.js';
import { registerSupportCommands } from './support.commands.js';
import { registerWarehouseCommands } from './warehouse.command.js';

function config(roles?: Role[]): Config {
  try {
    const cfg = loadConfig();
    if (roles) checkRoles(cfg, roles);
    return cfg;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(e.message + '\n');
      process.exit(2);
    }
    throw e;
  }
}

async function runRoles(roles: Role[], opts: { port?: string }) {
  if (opts.port) process.env.PORT = opts.port;
  const cfg = config(roles);
  const logger = createLogger(cfg.core.logLevel);
  const tally = await startTally(cfg, roles, { logger });
  if (roles.includes('collector') && roles.includes('worker') && cfg.demo.enabled) {
    // the demo never delays readiness: the collector is already listening
    void seedDemo(tally, cfg).catch((err) => logger.error({ err }, 'demo seeding failed'));
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    tally.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/**
 * `tally collector [--workers N]`: the role in this process, or, with several workers, this process
 * as the cluster primary (it serves nothing itself) and each worker running the role. Without
 * `--workers` it runs one worker per core, or one process where the configuration cannot run
 * several; asking for several there is a set-up error (exit 2).
 */
async function runCollector(opts: { port?: string; workers?: string }) {
  if (isCollectorWorker()) {
    joinCollectorCluster();
    return runRoles(['collector'], opts);
  }
  if (opts.port) process.env.PORT = opts.port;
  const cfg = config(['collector']);
  let workers: number;
  try {
    workers = parseWorkers(opts.workers, whyNotSeveral(cfg) === null);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  const why = workers > 1 ? whyNotSeveral(cfg) : null;
  if (why && opts.workers !== undefined) {
    process.stderr.write(`--workers ${workers}: not on this configuration: ${why}\n`);
    process.exit(2);
  }
  if (why || workers === 1) return runRoles(['collector'], opts);
  runCollectorPrimary(workers, createLogger(cfg.core.logLevel));
}

const program = new Command();
program
  .name('tally')
  .description(
    'Tally: multi-tenant, GA4-compatible analytics backend.\nConfiguration comes from environment variables (see README).\n' +
      'Commands other than the server roles print text for people, or one JSON document with --json.',
  )
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError();

program
  .command('serve')
  .description('run every role in one process on the embedded defaults (collector, api, worker, scheduler)')
  .option('-p, --port <port>', 'HTTP port (env PORT, default 8080)')
  .action((o) => runRoles(['collector', 'api', 'worker', 'scheduler'], o));

program
  .command('collector')
  .description('run only the ingest endpoints (with --workers N, in N processes sharing the port through node:cluster)')
  .addHelpText(
    'after',
    '\nSeveral workers need DATABASE_URL, KAFKA_BROKERS and REDIS_URL: each worker appends to Kafka with its own\n' +
      'producer, and rate limits, quotas and cookieless visitor salts are shared through Redis. A worker that dies is\n' +
      'replaced, and /metrics answers the sum over every worker. On the embedded profile (local event log, PGlite) the\n' +
      'collector is one process.',
  )
  .option('-p, --port <port>', 'HTTP port (env PORT, default 8080)')
  .option('-w, --workers <n>', 'worker processes: a number, or auto for every core (default: every core where the configuration allows several, else 1)')
  .action((o: { port?: string; workers?: string }) => runCollector(o));

for (const [role, text] of [
  ['api', 'run only the management and report API'],
  ['worker', 'run only the archiver and job handlers'],
  ['scheduler', 'run only the repeating schedules'],
] as const) {
  const c = program.command(role).description(text);
  if (role === 'api') c.option('-p, --port <port>', 'HTTP port (env PORT, default 8080)');
  c.action((o) => runRoles([role], o));
}

registerOperatorCommands(program, config);
registerLifecycleCommands(program, config);
registerBillingCommands(program, config);
registerSupportCommands(program, config);
registerWarehouseCommands(program, config);

program.addOption(new Option('--no-color').hideHelp());
program.parseAsync(process.argv).catch(failed);

function packageVersion(): string {
  const file = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}
