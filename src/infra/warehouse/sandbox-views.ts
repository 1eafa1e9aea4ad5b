import { TRANSFORMED_TABLES } from '../../domain/transformed-schema.js';
import { TallyError } from '../errors.js';
import { SANDBOX_VIEWS, type SandboxLimits } from './warehouse.port.js';

/**
 * Wraps a checked tenant SELECT so that the names it reads (`events`, `sessions`, …) are views of
 * one property's rows: `WITH events AS (SELECT … FROM <schema>.events WHERE tenant_id = $1 AND
 * property_id = $2), … SELECT * FROM (<statement>) LIMIT maxRows + 1`. The physical tables are
 * named with their schema, which the checked statement may not use, so the statement can only
 * reach them through the views. `tenant_id` is left out of the views: it is the caller's anyway.
 */
export function sandboxStatement(schema: string, sql: string, limits: SandboxLimits): string {
  const views = SANDBOX_VIEWS.map((t) => {
    const cols = TRANSFORMED_TABLES[t].columns.filter((c) => c.name !== 'tenant_id').map((c) => c.name);
    return `${t} AS (SELECT ${cols.join(', ')} FROM ${schema}.${t} WHERE tenant_id = $1 AND property_id = $2)`;
  });
  // the statement on lines of its own: a trailing `--` comment cannot swallow the LIMIT
  return `WITH ${views.join(',\n')}\nSELECT * FROM (\n${sql}\n) AS tally_sql LIMIT ${Math.max(0, Math.floor(limits.maxRows)) + 1}`;
}

/** An error of the tenant's statement itself (bad column, bad cast, division by zero): theirs to fix, a 400. */
export function sandboxStatementError(err: unknown): TallyError {
  if (err instanceof TallyError) return err;
  const message = (err as Error)?.message ?? String(err);
  return new TallyError('invalid_argument', `The statement failed: ${message}`, { reason: 'sql_error' }, { cause: err });
}
