import type { Command } from 'commander';
import type { Config } from '../infra/config/config.js';
import { isTallyError } from '../infra/errors.js';
import type { TenantDetail, TenantSummary } from '../tenancy/tenant-admin.js';
import type { CreatedTenant } from '../tenancy/tenant.repository.js';
import { CliError, openOperator, type Operator } from './operator.js';
import { progressBar } from './progress.js';
import { runDemo } from './demo.command.js';

/**
 * Prints a failed command's reason on stderr and exits (2 set-up, 3 data dir in use, 1 otherwise),
 * whatever a half-done start may have left open.
 */
export function failed(e: unknown): never {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(e instanceof CliError ? e.exitCode : isTallyError(e) && e.code === 'conflict' ? 3 : 1);
}

interface Common {
  json?: boolean;
  init?: boolean;
}

/** One JSON document for scripts, or text for people. */
export function print(o: Common, value: unknown, text: () => string): void {
  process.stdout.write(o.json ? JSON.stringify(value) + '\n' : text() + '\n');
}

const table = (rows: string[][]) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
};

const tenantText = (t: CreatedTenant) =>
  [
    `Organisation  ${t.organizationId}`,
    `Property      ${t.propertyId}`,
    `Measurement   ${t.measurementId}`,
    `Site id       ${t.siteId}`,
    `API secret    ${t.apiSecret}`,
    `Ingest key    ${t.ingestKey}`,
    `Read key      ${t.readKey}`,
    '',
    'Keep the secret and keys now: only their hashes are stored.',
  ].join('\n');

const listText = (ts: TenantSummary[]) =>
  ts.length
    ? table([
        ['ORGANISATION', 'PLAN', 'PROPERTIES', 'CREATED', 'NAME'],
        ...ts.map((t) => [t.organizationId, t.planId, String(t.properties), t.createdAt.slice(0, 10), t.name]),
      ])
    : 'no tenants yet';

const detailText = (t: TenantDetail) =>
  [
    `Organisation  ${t.organizationId}  ${t.name}`,
    `Plan          ${t.planId}`,
    `Created       ${t.createdAt}`,
    `Owners        ${t.owners.join(', ') || '-'}`,
    '',
    t.properties.length
      ? table([['PROPERTY', 'MEASUREMENT', 'TIME ZONE', 'DOMAIN'], ...t.properties.map((p) => [p.propertyId, p.measurementId, p.timeZone, p.domain])])
      : 'no properties',
    '',
    t.keys.length
      ? table([
          ['KEY', 'SCOPE', 'PROPERTY', 'STATE', 'LAST USED', 'NAME'],
          ...t.keys.map((k) => [k.prefix + '…', k.scope, k.propertyId ?? '-', k.revoked ? 'revoked' : 'active', k.lastUsedAt ?? 'never', k.name]),
        ])
      : 'no keys',
  ].join('\n');

function jobText(name: string, result: unknown): string {
  const r = result as { transform?: unknown; load?: unknown; properties?: unknown; partitions?: unknown };
  const transform = (t: { properties: { propertyId: string; dates: string[]; eventsWritten: number }[] }) =>
    t.properties.length
      ? t.properties
          .map((p) => `transform: property ${p.propertyId}: ${p.dates.length} date(s) ${p.dates[0]}..${p.dates.at(-1)}, ${p.eventsWritten} events written`)
          .join('\n')
      : 'transform: nothing to do (no new raw data; --full re-transforms every date)';
  const load = (l: { partitions: number; rows: number }) => `load: ${l.partitions} partition(s), ${l.rows} rows`;
  if (name === 'pipeline' && r?.transform && r.load) return `${transform(r.transform as never)}\n${load(r.load as never)}`;
  if (name === 'transform' && r?.properties) return transform(r as never);
  if (name === 'load' && r?.partitions !== undefined) return load(r as never);
  return JSON.stringify(result, null, 2);
}

/** `tally migrate`, `tally tenant …`, `tally jobs run`, `tally demo`: everything that works on a data dir or a database. */
/** A command action with the operator of this data dir or database (`worker`: one that can run jobs). */
export const withOperator =
  (config: () => Config) =>
  (fn: (op: Operator, o: any, ...args: string[]) => Promise<void>, scope: 'metadata' | 'worker' = 'metadata') =>
  async (...args: unknown[]) => {
    // commander passes the positional arguments, then the options, then the command
    const o = args[args.length - 2] as Common;
    try {
      const op = await openOperator(config(), { init: o.init, scope });
      await fn(op, o, ...(args.slice(0, -2) as string[]));
    } catch (e) {
      failed(e);
    }
  };

/** --json and --init, on every operator command. */
export const common = (c: Command) =>
  c
    .option('--json', 'print one JSON document (for scripts) instead of text')
    .option('--init', 'create the data dir when there is none (otherwise a missing data dir is an error)');

export function registerOperatorCommands(program: Command, config: () => Config): void {
  const withOp = withOperator(config);

  common(
    program
      .command('migrate')
      .description('apply pending metadata migrations and exit (servers also do it at start; concurrent runs take turns on PostgreSQL)'),
  ).action(
    withOp(async (op, o) => {
      const applied = await op.migrate();
      const by = op.via.kind === 'server' ? `the running server (pid ${op.via.pid}) holds this database and migrated it when it started` : null;
      print(
        o,
        { applied, via: op.via.kind },
        () => by ?? (applied.length ? `applied ${applied.length} migration(s):\n  ${applied.join('\n  ')}` : 'the schema is up to date'),
      );
    }),
  );

  const tenant = program.command('tenant').description('manage tenants (organisations): create, list, show, set-plan, delete');
  common(
    tenant
      .command('create')
      .description('create an organisation, its owner, a property and its keys (keys are shown once)')
      .requiredOption('--name <org>', 'organisation name')
      .requiredOption('--email <owner>', "owner's e-mail")
      .requiredOption('--domain <site>', "the property's site domain")
      .option('--time-zone <tz>', 'IANA time zone of the property', 'UTC')
      .option('--plan <id>', 'plan: free | growth | scale', 'free')
      .option('--allowed-hostname <host...>', 'hosts browser hits may come from (`*.acme.test` for subdomains); default: the domain and its subdomains'),
  )
    .addHelpText('after', '\nWith --json: one object with organizationId, propertyId, measurementId, siteId, apiSecret, ingestKey, readKey.')
    .action(
      withOp(async (op, o) => {
        const created = await op.createTenant({
          name: o.name,
          email: o.email,
          domain: o.domain,
          timeZone: o.timeZone,
          planId: o.plan,
          ...(o.allowedHostname ? { allowedHostnames: o.allowedHostname } : {}),
        });
        const out: CreatedTenant = {
          organizationId: created.organizationId,
          propertyId: created.propertyId,
          measurementId: created.measurementId,
          siteId: created.siteId,
          apiSecret: created.apiSecret,
          ingestKey: created.ingestKey,
          readKey: created.readKey,
        };
        print(o, out, () => tenantText(out));
      }),
    );
  common(tenant.command('list').description('list every tenant with its plan and number of properties')).action(
    withOp(async (op, o) => {
      const ts = await op.listTenants();
      print(o, ts, () => listText(ts));
    }),
  );
  common(
    tenant.command('show').description('one tenant: plan, owners, properties and keys (prefixes only: secrets are never stored)').argument('<organizationId>'),
  ).action(
    withOp(async (op, o, id) => {
      const t = await op.getTenant(id!);
      print(o, t, () => detailText(t));
    }),
  );
  common(
    tenant
      .command('set-plan')
      .description("change a tenant's plan (its quota and rate limit follow within seconds)")
      .argument('<organizationId>')
      .argument('<plan>', 'free | growth | scale'),
  ).action(
    withOp(async (op, o, id, plan) => {
      const t = await op.setPlan(id!, plan!);
      print(o, t, () => `${t.organizationId} (${t.name}) is now on plan ${t.planId}`);
    }),
  );
  common(
    tenant
      .command('delete')
      .description(
        "delete a tenant: its organisation, properties, keys and pipeline bookkeeping, and erase its properties' data from the raw zone, dead letters, transformed zone and warehouse (job purge-property per property: run now when no other process holds the data dir, else queued for its workers)",
      )
      .argument('<organizationId>')
      .option('--yes', 'really delete (required)'),
  ).action(
    withOp(async (op, o, id) => {
      if (!o.yes) throw new CliError(`this deletes tenant ${id} with its properties and keys; pass --yes to do it`, 2);
      const r = await op.deleteTenant(id!);
      const erased = r.properties === 0 ? '' : r.purge === 'done' ? '; their data is erased' : '; the erasure of their data is queued (purge-property)';
      print(o, r, () => `deleted ${r.organizationId} and its ${r.properties} propert${r.properties === 1 ? 'y' : 'ies'}${erased}`);
    }),
  );

  const userCmd = program.command('user').description('manage user accounts');
  common(
    userCmd
      .command('create')
      .description('create a user with a verified e-mail (a random password is printed once unless --password or TALLY_USER_PASSWORD is given)')
      .requiredOption('--email <email>', 'e-mail address (the login)')
      .option('--name <name>', 'display name')
      .option('--password <password>', 'password (at least 10 characters, not a common one); default $TALLY_USER_PASSWORD or a random one')
      .option('--staff', 'support staff: may read any organisation with a reason, audited; never sees secrets'),
  ).action(
    withOp(async (op, o) => {
      const password = o.password ?? process.env.TALLY_USER_PASSWORD;
      const out = await op.ops('users.create', { email: o.email, name: o.name, password, staff: !!o.staff });
      print(
        o,
        out,
        () => `User ${out.user.id} ${out.user.email}${out.user.isStaff ? ' (staff)' : ''}${out.password ? `\nPassword ${out.password}  (shown once)` : ''}`,
      );
    }),
  );

  const orgCmd = program.command('org').description('organisations');
  common(orgCmd.command('list').description('every organisation with its plan, members and properties')).action(
    withOp(async (op, o) => {
      const out = await op.ops('orgs.list', {});
      print(
        o,
        out,
        () =>
          out.organizations.map((x: any) => `${x.id}  ${x.plan.id.padEnd(7)} members=${x.members} properties=${x.properties}  ${x.name}`).join('\n') ||
          '(none)',
      );
    }),
  );

  const keyCmd = program.command('key').description("a property's API keys: list, create, revoke, rotate (a revoked key is refused everywhere within 2 s)");
  common(keyCmd.command('list').description('active keys of a property (never their secrets)').requiredOption('--property <id>', 'property id')).action(
    withOp(async (op, o) => {
      const out = await op.ops('keys.list', { propertyId: String(o.property) });
      print(
        o,
        out,
        () =>
          out.keys
            .map(
              (k: any) =>
                `${k.id}  ${k.kind.padEnd(9)} ${k.prefix}…  ${k.name}  created ${k.createdAt}  last used ${k.lastUsedAt ?? 'never'}${k.expiresAt ? `  expires ${k.expiresAt}` : ''}`,
            )
            .join('\n') || '(none)',
      );
    }),
  );
  common(
    keyCmd
      .command('create')
      .description('create a key; its secret is printed once')
      .requiredOption('--property <id>', 'property id')
      .requiredOption('--kind <kind>', 'ingest | read | mp_secret')
      .option('--name <name>', 'what the key is for', 'CLI key'),
  ).action(
    withOp(async (op, o) => {
      const out = await op.ops('keys.create', { propertyId: String(o.property), kind: o.kind, name: o.name });
      print(o, out, () => `Key ${out.key.id} (${out.key.kind})\nSecret ${out.secret}  (shown once)`);
    }),
  );
  common(keyCmd.command('revoke').description('revoke a key now').argument('<keyId>', 'key id (from key list)')).action(
    withOp(async (op, o, keyId) => {
      const out = await op.ops('keys.revoke', { keyId });
      print(o, out, () => `Revoked ${keyId}`);
    }),
  );
  common(
    keyCmd
      .command('rotate')
      .description('a new secret for a key; the old one works for --grace seconds more (default 0)')
      .argument('<keyId>', 'key id (from key list)')
      .option('--grace <seconds>', 'grace period of the old secret in seconds', '0'),
  ).action(
    withOp(async (op, o, keyId) => {
      const out = await op.ops('keys.rotate', { keyId, gracePeriodSeconds: Number(o.grace) });
      print(
        o,
        out,
        () =>
          `Key ${out.key.id} replaces ${keyId}${out.previous.expiresAt ? ` (old secret valid until ${out.previous.expiresAt})` : ' (old secret revoked)'}\nSecret ${out.secret}  (shown once)`,
      );
    }),
  );

  const jobs = program.command('jobs').description('run pipeline jobs by hand');
  common(
    jobs
      .command('run')
      .description('run one job now, with a progress bar on a terminal (through the running server when one holds the data dir)')
      .argument('<name>', "transform | load | pipeline (transform then load) | compact (merge closed days' files)")
      .option('--property <id>', 'only this property')
      .option('--full', 'transform: every date with raw data, not only changed ones (every property without --property)'),
  ).action(
    withOp(async (op, o, name) => {
      const data: Record<string, unknown> = {};
      if (o.property) data.propertyId = String(o.property);
      if (o.full) data.full = true;
      const bar = progressBar(name!);
      try {
        const result = await op.runJob(name!, data, (d, t, unit) => bar.update(d, t, unit));
        bar.stop();
        print(o, result, () => jobText(name!, result));
      } catch (e) {
        bar.stop();
        throw new CliError(`tally jobs run ${name}: ${(e as Error).message}`);
      }
    }, 'worker'),
  );

  program
    .command('demo')
    .description('send realistic demo traffic with a known ground truth to a running Tally, and write the ground truth beside it')
    .option('--url <url>', 'collector base URL', 'http://127.0.0.1:8080')
    .option('--ingest-key <key>', 'ingest key of the target property (default: create a demo tenant through the running server)')
    .option('--days <n>', 'days of traffic ending now (at most 3)', '3')
    .option('--visitors <n>', 'visitors per day', '300')
    .option('--seed <n>', 'random seed', '42')
    .option('--time-zone <tz>', 'property time zone', 'UTC')
    .option('--out <file>', 'where to write the ground truth and the new keys (JSON, mode 0600)', 'demo-ground-truth.json')
    .option('--json', 'print one JSON document instead of text')
    .action(async (o) => {
      try {
        await runDemo(o, () => openOperator(config()));
      } catch (e) {
        failed(e);
      }
    });
}
