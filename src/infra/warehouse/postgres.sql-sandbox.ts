import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { TallyError } from '../errors.js';
import { sandboxStatement, sandboxStatementError } from './sandbox-views.js';
import { SANDBOX_VIEWS, type SandboxLimits, type SandboxResult, type SandboxScope } from './warehouse.port.js';

/**
 * Tenant SQL on the PostgreSQL warehouse, and per-tenant read-only roles for BI tools, both
 * behind row-level security:
 * - the warehouse tables get RLS and one policy: a row is visible to `tally_sql` (the NOLOGIN role
 *   the API switches to for a tenant's statement) when it is the property named by this
 *   transaction's `tally.tenant_id`/`tally.property_id`, and to a BI role when
 *   `tally_sql_grants` maps that role to the row's property. The owner (Tally itself) is exempt.
 * - the statement was checked by the query module (one SELECT, allowed functions only, so no
 *   `set_config`), runs READ ONLY with a statement timeout, and reads the tables through views
 *   scoped to the property as on DuckDB: the policy is the second wall, not the only one.
 */
export const SQL_ROLE = 'tally_sql';

const SETUP = [
  `DO $$ BEGIN
     IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${SQL_ROLE}') THEN CREATE ROLE ${SQL_ROLE} NOLOGIN; END IF;
   EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- roles are per cluster: another database's setup won the race
   END $$`,
  `CREATE TABLE IF NOT EXISTS tally_sql_grants (
     role_name text PRIMARY KEY, tenant_id text NOT NULL, property_id text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
  'REVOKE ALL ON tally_sql_grants FROM PUBLIC',
  // Tally's own login switches to the role per statement (SET LOCAL ROLE needs membership)
  `GRANT ${SQL_ROLE} TO CURRENT_USER`,
  // SECURITY DEFINER: a BI role need not (and cannot) read the grants table; the policy passes
  // current_user in, evaluated as the querying role
  `CREATE OR REPLACE FUNCTION tally_sql_visible(t text, p text, who name) RETURNS boolean
     LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
       SELECT CASE WHEN who = '${SQL_ROLE}'
         THEN t = current_setting('tally.tenant_id', true) AND p = current_setting('tally.property_id', true)
         ELSE EXISTS (SELECT 1 FROM tally_sql_grants g WHERE g.role_name = who AND g.tenant_id = t AND g.property_id = p) END
     $$`,
  'REVOKE ALL ON FUNCTION tally_sql_visible(text, text, name) FROM PUBLIC',
  `GRANT EXECUTE ON FUNCTION tally_sql_visible(text, text, name) TO ${SQL_ROLE}`,
];

/** Creates the role, grants table, function and policies (idempotent; run under the warehouse's init lock). */
export async function setUpSandbox(client: pg.PoolClient): Promise<void> {
  for (const statement of SETUP) await client.query(statement);
  for (const table of SANDBOX_VIEWS) {
    await client.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
    await client.query(`DROP POLICY IF EXISTS tally_sql_read ON ${table}`);
    await client.query(`CREATE POLICY tally_sql_read ON ${table} FOR SELECT USING (tally_sql_visible(tenant_id, property_id, current_user))`);
    await client.query(`GRANT SELECT ON ${table} TO ${SQL_ROLE}`);
  }
}

const OID_TYPES: Record<number, string> = {
  16: 'BOOLEAN',
  20: 'BIGINT',
  21: 'SMALLINT',
  23: 'INTEGER',
  700: 'FLOAT',
  701: 'DOUBLE',
  1700: 'DECIMAL',
  1082: 'DATE',
};

export async function runSandbox(client: pg.PoolClient, scope: SandboxScope, sql: string, limits: SandboxLimits): Promise<SandboxResult> {
  await client.query('BEGIN READ ONLY');
  try {
    await client.query(`SET LOCAL ROLE ${SQL_ROLE}`);
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(limits.timeoutMs))}`);
    await client.query("SELECT set_config('tally.tenant_id', $1, true), set_config('tally.property_id', $2, true)", [scope.tenantId, scope.propertyId]);
    let res: pg.QueryResult;
    try {
      res = await client.query({ text: sandboxStatement('public', sql, limits), values: [scope.tenantId, scope.propertyId], rowMode: 'array' });
    } catch (err) {
      if ((err as { code?: unknown }).code === '57014') {
        throw new TallyError(
          'deadline_exceeded',
          `The statement took longer than its ${limits.timeoutMs} ms limit.`,
          { reason: 'statement_timeout' },
          { cause: err },
        );
      }
      // only the tenant's own statement failing is theirs to fix (400); the setup above failing is ours
      throw sandboxStatementError(err);
    }
    await client.query('COMMIT');
    const rows = res.rows as unknown[][];
    const truncated = rows.length > limits.maxRows;
    return {
      columns: res.fields.map((f) => ({ name: f.name, type: OID_TYPES[f.dataTypeID] ?? 'VARCHAR' })),
      rows: truncated ? rows.slice(0, limits.maxRows) : rows,
      truncated,
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * A LOGIN role for a BI tool (Tableau, Metabase) that sees only `scope`'s rows of the warehouse
 * tables, read-only; a new password each time it is called. The role name is derived from the
 * property id, so granting twice rotates the password.
 */
export async function grantReader(client: pg.PoolClient, scope: SandboxScope): Promise<{ role: string; password: string; tables: string[] }> {
  const role = `tally_bi_${scope.propertyId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
  const password = randomBytes(18).toString('base64url');
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['tally.warehouse.init']);
    const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount;
    // identifiers cannot be parameters: the role name is [a-z0-9_] by construction, the password base64url
    await client.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${role} LOGIN PASSWORD '${password}'`); // CREATE ROLE's defaults: no superuser, createdb or createrole
    await client.query(
      `INSERT INTO tally_sql_grants (role_name, tenant_id, property_id) VALUES ($1, $2, $3)
       ON CONFLICT (role_name) DO UPDATE SET tenant_id = excluded.tenant_id, property_id = excluded.property_id`,
      [role, scope.tenantId, scope.propertyId],
    );
    for (const table of SANDBOX_VIEWS) await client.query(`GRANT SELECT ON ${table} TO ${role}`);
    await client.query(`GRANT EXECUTE ON FUNCTION tally_sql_visible(text, text, name) TO ${role}`);
    await client.query(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return { role, password, tables: [...SANDBOX_VIEWS] };
}
