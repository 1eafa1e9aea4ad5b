import type { DuckDBConnection } from '@duckdb/node-api';
import { ScratchDuckDb } from '../scratch-duckdb.js';
import type { SqlParse, SqlParser } from './sql-parser.port.js';

/**
 * Parses SQL with DuckDB's parser in a small in-memory database that holds no data:
 * `json_serialize_sql` gives the tree (it refuses anything but SELECT), `json_deserialize_sql`
 * prints the tree back, so what runs is what was checked: comments and layout tricks are gone.
 * One statement at a time on one connection; the database is created on first use.
 */
export class DuckDbSqlParser implements SqlParser {
  // enable_external_access=false: this database never reads a file or the network, whatever it is asked
  private readonly duck = new ScratchDuckDb({ enable_external_access: 'false' });

  parse(sql: string): Promise<SqlParse> {
    return this.duck.run((conn) => parseWith(conn, sql));
  }

  close(): Promise<void> {
    return this.duck.close();
  }
}

async function parseWith(conn: DuckDBConnection, sql: string): Promise<SqlParse> {
  const serialized = (await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR) AS j', [sql])).getRowObjects()[0].j as string;
  // "no location" is 2^64-1, which JSON.parse rounds to a number DuckDB then refuses: positions matter to nobody here
  const tree = serialized.replace(/"query_location":\d+/g, '"query_location":0');
  const parsed = JSON.parse(tree) as { error: boolean; error_message?: string; statements?: { node: unknown }[] };
  if (parsed.error) return { ok: false, message: parsed.error_message ?? 'the statement could not be parsed' };
  try {
    const printable = JSON.stringify(portable(JSON.parse(tree)));
    const canonical = (await conn.runAndReadAll('SELECT json_deserialize_sql($1::JSON) AS s', [printable])).getRowObjects()[0].s as string;
    return { ok: true, statements: (parsed.statements ?? []).map((s) => s.node), canonical };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

/**
 * DuckDB parses `count(*)` as `count_star()` and prints it so; PostgreSQL knows only `count(*)`.
 * Printed back as `count(*)`, the canonical text runs on both warehouses.
 */
function portable(node: unknown): unknown {
  if (Array.isArray(node)) node.forEach(portable);
  else if (node && typeof node === 'object') {
    const n = node as Record<string, unknown>;
    if (n.class === 'FUNCTION' && n.function_name === 'count_star' && Array.isArray(n.children) && n.children.length === 0) {
      n.function_name = 'count';
      n.children = [STAR];
    }
    Object.values(n).forEach(portable);
  }
  return node;
}

const STAR = {
  class: 'STAR',
  type: 'STAR',
  alias: '',
  query_location: 0,
  relation_name: '',
  exclude_list: [],
  replace_list: [],
  columns: false,
  expr: null,
  qualified_exclude_list: [],
  rename_list: [],
};
