import type { Command } from 'commander';
import type { Config } from '../infra/config/config.js';
import { FolderObjectStore } from '../infra/object-store/folder.object-store.js';
import { PostgresWarehouse } from '../infra/warehouse/postgres.warehouse.js';
import { CliError } from './operator.js';
import { failed } from './operator.commands.js';

/** `tally warehouse grant`: a PostgreSQL login for BI tools (Tableau, Metabase) that sees one property's rows. */
export function registerWarehouseCommands(program: Command, config: () => Config): void {
  const warehouse = program.command('warehouse').description('the warehouse seen from outside Tally: logins for BI tools');
  warehouse
    .command('grant')
    .description(
      "create a read-only PostgreSQL login that sees only one property's rows of events, sessions and identities (row-level security); run again to get a new password",
    )
    .requiredOption('--property <id>', 'the property the login may read')
    .option('--tenant <id>', "the property's organisation (default: read from the property's rows in the warehouse)")
    .option('--json', 'print one JSON document (for scripts) instead of text')
    .action(async (o: { property: string; tenant?: string; json?: boolean }) => {
      try {
        const cfg = config();
        if (cfg.warehouse.kind !== 'postgres') {
          throw new CliError(`per-tenant logins need the PostgreSQL warehouse (WAREHOUSE_URL=postgres://…); this one is ${cfg.warehouse.kind}`, 2);
        }
        // the grant touches no object: the store is never read
        const wh = new PostgresWarehouse({ url: cfg.warehouse.url, store: new FolderObjectStore(cfg.core.dataDir) });
        try {
          const tenantId = o.tenant ?? (await tenantOf(wh, o.property));
          const g = await wh.grantReader({ tenantId, propertyId: o.property });
          const at = new URL(cfg.warehouse.url);
          const out = {
            role: g.role,
            password: g.password,
            host: at.hostname,
            port: Number(at.port || 5432),
            database: at.pathname.slice(1),
            tables: g.tables,
            tenantId,
            propertyId: o.property,
          };
          process.stdout.write(
            o.json
              ? JSON.stringify(out) + '\n'
              : [
                  `Login     ${out.role}`,
                  `Password  ${out.password}`,
                  `Server    ${out.host}:${out.port}, database ${out.database}`,
                  `Tables    ${out.tables.join(', ')} (only property ${o.property}'s rows; read-only)`,
                  '',
                  'Keep the password now: it is not stored. Running this again gives a new one and ends the old.',
                ].join('\n') + '\n',
          );
        } finally {
          await wh.close();
        }
      } catch (e) {
        failed(e);
      }
    });
}

async function tenantOf(wh: PostgresWarehouse, propertyId: string): Promise<string> {
  const rows = await wh.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM sessions WHERE property_id = $1 LIMIT 2', [propertyId]);
  if (rows.length === 1) return rows[0].tenant_id;
  throw new CliError(
    rows.length
      ? `property ${propertyId} has rows of several tenants: pass --tenant`
      : `property ${propertyId} has no rows in the warehouse yet: pass --tenant <organisation id>`,
    2,
  );
}
