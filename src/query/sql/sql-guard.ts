import { TallyError } from '../../infra/errors.js';
import { SQL_FUNCTIONS } from './sql-functions.js';

/**
 * Decides whether a parsed tenant statement may run (DuckDB's serialized parse tree, from the
 * SqlParser port): exactly one SELECT (or set operation of SELECTs) that reads only the given
 * views and its own CTEs in scope, calls only allowed functions, and has no table functions,
 * schema- or catalog-qualified names, time travel, or parameters. Pure: the tree in, a verdict
 * out (TallyError invalid_argument with a reason naming why).
 */
export function checkTenantStatement(statements: unknown[], views: readonly string[]): void {
  if (statements.length !== 1) refuse('sql_single_statement', `Exactly one SELECT statement is allowed (got ${statements.length}).`);
  walk(statements[0], new Set(views));
}

const TABLE_REFS = new Set(['BASE_TABLE', 'JOIN', 'SUBQUERY', 'EMPTY', 'EXPRESSION_LIST', 'PIVOT']);
const OTHER_SOURCES = new Set(['TABLE_FUNCTION', 'SHOW_REF', 'COLUMN_DATA', 'DELIM_GET', 'BOUND_TABLE_REF']);
const QUERY_NODES = new Set(['SELECT_NODE', 'SET_OPERATION_NODE', 'RECURSIVE_CTE_NODE', 'CTE_NODE']);
const CALLS = new Set(['FUNCTION', 'AGGREGATE', 'WINDOW']);

function walk(node: unknown, scope: ReadonlySet<string>): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, scope);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const n = node as Record<string, unknown>;
  const cteMap = (n.cte_map as { map?: { key: string; value: unknown }[] } | undefined)?.map;
  if (cteMap?.length) {
    // each CTE sees the views, the CTEs in scope and those before it (and itself, when recursive);
    // the query after the WITH sees them all
    let inner = new Set(scope);
    for (const cte of cteMap) {
      inner = new Set(inner).add(cte.key.toLowerCase());
      walk(cte.value, inner);
    }
    const { cte_map: _skip, ...rest } = n;
    walk(rest, inner);
    return;
  }
  checkNode(n, scope);
  for (const v of Object.values(n)) if (v && typeof v === 'object') walk(v, scope);
}

function checkNode(n: Record<string, unknown>, scope: ReadonlySet<string>): void {
  const type = typeof n.type === 'string' ? n.type : null;
  if (type?.endsWith('_NODE') && !QUERY_NODES.has(type)) refuse('sql_not_select', `Only SELECT queries are allowed (found ${type}).`);
  if (n.class === 'PARAMETER') refuse('sql_parameter', 'Parameters ($1, ?) are not allowed: write the values into the statement.');
  if (typeof n.class === 'string' && CALLS.has(n.class)) {
    const name = String(n.function_name ?? '').toLowerCase();
    if (n.schema || n.catalog) refuse('sql_function_not_allowed', `Qualified function names are not allowed (${String(n.schema)}.${name}).`);
    if (!SQL_FUNCTIONS.has(name)) refuse('sql_function_not_allowed', `The function ${name}() is not allowed here.`);
  }
  // table references: by the presence of their fields (expressions have `class`, table refs do not)
  if (type && OTHER_SOURCES.has(type)) refuse('sql_table_function', `Table functions and ${type.toLowerCase()} sources are not allowed.`);
  if (
    type &&
    !type.endsWith('_NODE') &&
    n.class === undefined &&
    ('table_name' in n || 'function' in n || 'left' in n || 'subquery' in n || type === 'TABLE_FUNCTION')
  ) {
    if (!TABLE_REFS.has(type)) refuse('sql_table_function', `Table functions and ${type.toLowerCase()} sources are not allowed.`);
    if (type === 'BASE_TABLE') {
      const name = String(n.table_name).toLowerCase();
      if (n.schema_name || n.catalog_name) refuse('sql_table_not_allowed', `Qualified table names are not allowed (${String(n.schema_name)}.${name}).`);
      if (n.at_clause) refuse('sql_table_not_allowed', 'AT (time travel) is not allowed.');
      if (!scope.has(name)) refuse('sql_table_not_allowed', `Unknown table ${name}: the statement may read ${[...scope].join(', ')}.`);
    }
  }
}

function refuse(reason: string, message: string): never {
  throw new TallyError('invalid_argument', message, { reason });
}
