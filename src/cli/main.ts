import { Command, Option } from 'commander';
import { checkRoles, loadConfig, ConfigError, type Config } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { startTally, type Role } from '../server/tally-server.js';
import { waitForServer, readAdminToken } from '../tenancy/admin-token.js';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { openDb } from '../infra/metadata/db.js';
import { runOperatorCommand, type OperatorCommand } from '../tenancy/operator.commands.js';
import { TenancyService } from '../tenancy/tenancy.service.js';
import { progressBar } from './progress.js';
import { seedDemo, runDemo } from './demo.command.js';

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

async function viaServer(path: string, body: unknown, onLine?: (line: any) => void): Promise<any> {
  const cfg = config();
  const info = await waitForServer(cfg.core.dataDir);
  const token = readAdminToken(cfg.core.dataDir);
  if (!info || !token) return undefined;
  const host = info.host === '0.0.0.0' || info.host === '::' ? '127.0.0.1' : info.host;
  const res = await fetch(`http://${host}:${info.port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!onLine) {
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(json?.error?.message ?? `server answered ${res.status}`);
    return json;
  }
  let last: any;
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += Buffer.from(chunk).toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      onLine(line);
      last = line;
    }
  }
  if (!res.ok) throw new Error(last?.error?.message ?? `server answered ${res.status}`);
  return last;
}

const program = new Command();
program
  .name('tally')
  .description('Tally: multi-tenant, GA4-compatible analytics backend.\nConfiguration comes from environment variables (see README).')
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

const tenant = program.command('tenant').description('manage tenants');
tenant
  .command('create')
  .description('create an organisation, its owner, a property and its keys (keys are shown once)')
  .requiredOption('--name <org>', 'organisation name')
  .requiredOption('--email <owner>', "owner's e-mail")
  .requiredOption('--domain <site>', "the property's site domain")
  .option('--time-zone <tz>', 'IANA time zone of the property', 'UTC')
  .option('--plan <id>', 'plan: free | growth | scale', 'free')
  .option('--allowed-hostname <host...>', 'hosts browser hits may come from (`*.acme.test` for subdomains); default: the domain and its subdomains')
  .option('--json', 'print one JSON object: organizationId, propertyId, measurementId, siteId, apiSecret, ingestKey, readKey')
  .action(async (o) => {
    const input = { name: o.name, email: o.email, domain: o.domain, timeZone: o.timeZone, planId: o.plan, ...(o.allowedHostname ? { allowedHostnames: o.allowedHostname } : {}) };
    let created: CreatedTenant | undefined = await viaServer('/internal/v1/tenants', input);
    if (!created) {
      const cfg = config();
      const db = await openDb({ url: cfg.db.url, dataDir: cfg.core.dataDir });
      try {
        created = await createTenant(db, input);
      } finally {
        await db.destroy();
      }
    }
    const out = {
      organizationId: created.organizationId,
      propertyId: created.propertyId,
      measurementId: created.measurementId,
      siteId: created.siteId,
      apiSecret: created.apiSecret,
      ingestKey: created.ingestKey,
      readKey: created.readKey,
    };
    if (o.json) process.stdout.write(JSON.stringify(out) + '\n');
    else {
      process.stdout.write(
        [
          `Organisation  ${out.organizationId}`,
          `Property      ${out.propertyId}`,
          `Measurement   ${out.measurementId}`,
          `API secret    ${out.apiSecret}`,
          `Ingest key    ${out.ingestKey}`,
          `Read key      ${out.readKey}`,
          '',
          'Keep the secret and keys now: only their hashes are stored.',
        ].join('\n') + '\n',
      );
    }
  });

/** An operator command through the running server holding the data dir, else on the DB directly. */
async function operator(command: OperatorCommand, input: Record<string, unknown>): Promise<any> {
  const viaHttp = await viaServer(`/internal/v1/ops/${command}`, input);
  if (viaHttp !== undefined) return viaHttp;
  const cfg = config();
  const db = await openDb({ url: cfg.db.url, dataDir: cfg.core.dataDir });
  try {
    return await runOperatorCommand(new TenancyService(db), command, input);
  } finally {
    await db.destroy();
  }
}

function print(o: { json?: boolean }, value: unknown, text: () => string): void {
  process.stdout.write((o.json ? JSON.stringify(value) : text()) + '\n');
}

function failing(action: (...args: any[]) => Promise<void>) {
  return async (...args: any[]) => {
    try {
      await action(...args);
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exitCode = 1;
    }
  };
}

const userCmd = program.command('user').description('manage user accounts');
userCmd
  .command('create')
  .description('create a user with a verified e-mail (a random password is printed once unless --password or TALLY_USER_PASSWORD is given)')
  .requiredOption('--email <email>', 'e-mail address (the login)')
  .option('--name <name>', 'display name')
  .option('--password <password>', 'password (at least 10 characters, not a common one); default $TALLY_USER_PASSWORD or a random one')
  .option('--staff', 'support staff: may read any organisation with a reason, audited; never sees secrets')
  .option('--json', 'print JSON')
  .action(
    failing(async (o) => {
      const password = o.password ?? process.env.TALLY_USER_PASSWORD;
      const out = await operator('users.create', { email: o.email, name: o.name, password, staff: !!o.staff });
      print(o, out, () => `User ${out.user.id} ${out.user.email}${out.user.isStaff ? ' (staff)' : ''}${out.password ? `\nPassword ${out.password}  (shown once)` : ''}`);
    }),
  );

const orgCmd = program.command('org').description('organisations');
orgCmd
  .command('list')
  .description('every organisation with its plan, members and properties')
  .option('--json', 'print JSON')
  .action(
    failing(async (o) => {
      const out = await operator('orgs.list', {});
      print(o, out, () => out.organizations.map((x: any) => `${x.id}  ${x.plan.id.padEnd(7)} members=${x.members} properties=${x.properties}  ${x.name}`).join('\n') || '(none)');
    }),
  );

const keyCmd = program.command('key').description("a property's API keys: list, create, revoke, rotate (a revoked key is refused everywhere within 2 s)");
keyCmd
  .command('list')
  .description('active keys of a property (never their secrets)')
  .requiredOption('--property <id>', 'property id')
  .option('--json', 'print JSON')
  .action(
    failing(async (o) => {
      const out = await operator('keys.list', { propertyId: String(o.property) });
      print(o, out, () => out.keys.map((k: any) => `${k.id}  ${k.kind.padEnd(9)} ${k.prefix}…  ${k.name}  created ${k.createdAt}  last used ${k.lastUsedAt ?? 'never'}${k.expiresAt ? `  expires ${k.expiresAt}` : ''}`).join('\n') || '(none)');
    }),
  );
keyCmd
  .command('create')
  .description('create a key; its secret is printed once')
  .requiredOption('--property <id>', 'property id')
  .requiredOption('--kind <kind>', 'ingest | read | mp_secret')
  .option('--name <name>', 'what the key is for', 'CLI key')
  .option('--json', 'print JSON')
  .action(
    failing(async (o) => {
      const out = await operator('keys.create', { propertyId: String(o.property), kind: o.kind, name: o.name });
      print(o, out, () => `Key ${out.key.id} (${out.key.kind})\nSecret ${out.secret}  (shown once)`);
    }),
  );
keyCmd
  .command('revoke')
  .description('revoke a key now')
  .argument('<keyId>', 'key id (from key list)')
  .option('--json', 'print JSON')
  .action(
    failing(async (keyId: string, o) => {
      const out = await operator('keys.revoke', { keyId });
      print(o, out, () => `Revoked ${keyId}`);
    }),
  );
keyCmd
  .command('rotate')
  .description('a new secret for a key; the old one works for --grace seconds more (default 0)')
  .argument('<keyId>', 'key id (from key list)')
  .option('--grace <seconds>', 'grace period of the old secret in seconds', '0')
  .option('--json', 'print JSON')
  .action(
    failing(async (keyId: string, o) => {
      const out = await operator('keys.rotate', { keyId, gracePeriodSeconds: Number(o.grace) });
      print(o, out, () => `Key ${out.key.id} replaces ${keyId}${out.previous.expiresAt ? ` (old secret valid until ${out.previous.expiresAt})` : ' (old secret revoked)'}\nSecret ${out.secret}  (shown once)`);
    }),
  );

const jobsCmd = program.command('jobs').description('run pipeline jobs by hand');
jobsCmd
  .command('run')
  .description('run one job now, with a progress bar')
  .argument('<name>', 'transform | load | pipeline (transform then load)')
  .option('--property <id>', 'only this property')
  .option('--full', 'transform: every date with raw data, not only changed ones')
  .action(async (name: string, o) => {
    const data: Record<string, unknown> = {};
    if (o.property) data.propertyId = String(o.property);
    if (o.full) data.full = true;
    const bar = progressBar(name);
    try {
      const last = await viaServer('/internal/v1/jobs/run', { name, ...data }, (l) => l.progress && bar.update(l.progress[0], l.progress[1]));
      let result: unknown;
      if (last !== undefined) {
        if (last.error) throw new Error(last.error);
        result = last.result;
      } else {
        const cfg = config();
        const tally = await startTally(cfg, ['worker'], { logger: createLogger('warn') });
        try {
          await tally.archiver?.caughtUp(120_000);
          result = await tally.runJob(name, data, (d, t) => bar.update(d, t));
        } finally {
          await tally.stop();
        }
      }
      bar.stop();
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } catch (e) {
      bar.stop();
      process.stderr.write(`tally jobs run ${name}: ${(e as Error).message}\n`);
      process.exitCode = 1;
    }
  });

program
  .command('demo')
  .description('send realistic demo traffic with a known ground truth to a running Tally, and write the ground truth beside it')
  .option('--url <url>', 'collector base URL', 'http://127.0.0.1:8080')
  .option('--ingest-key <key>', 'ingest key of the target property (default: create a demo tenant through the running server)')
  .option('--days <n>', 'days of traffic ending today', '3')
  .option('--visitors <n>', 'visitors per day', '300')
  .option('--seed <n>', 'random seed', '42')
  .option('--time-zone <tz>', 'property time zone', 'UTC')
  .option('--out <file>', 'where to write the ground truth (JSON)', 'demo-ground-truth.json')
  .action((o) => runDemo(o, viaServer));

program.addOption(new Option('--no-color').hideHelp());
program.parseAsync(process.argv).catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
