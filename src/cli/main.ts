import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { checkRoles, loadConfig, ConfigError, type Config } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { startTally, type Role } from '../server/tally-server.js';
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

for (const [role, text] of [
  ['collector', 'run only the ingest endpoints'],
  ['api', 'run only the management and report API'],
  ['worker', 'run only the archiver and job handlers'],
  ['scheduler', 'run only the repeating schedules'],
] as const) {
  const c = program.command(role).description(text);
  if (role === 'collector' || role === 'api') c.option('-p, --port <port>', 'HTTP port (env PORT, default 8080)');
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
