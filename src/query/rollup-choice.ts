import { ROLLUP_SETS, type RollupSet, type RollupSide } from '../domain/rollups.js';

/**
 * Which rollup answers a report's dimensions (src/domain/rollups.ts), read from the catalog's
 * row-level SQL itself: a dimension is answered from a rollup only if every column it reads is one
 * the rollup keeps.
 */
// every alias a dimension may read (catalog.types.ts): one of another table than the rollup's is never kept
const COLUMN_REF = /\b(e|s|fs|fu|idm|i|fxs|fxt|tgt)\.([a-z_]+)/g;
const STRING_LITERAL = /'(?:[^']|'')*'/g;

/**
 * The first (smallest) rollup set whose `side` table keeps every column the dimensions' SQL
 * reads (the catalog's row-level SQL, unchanged: rollup columns keep the detail tables' names).
 */
export function rollupFor(side: RollupSide, dimensionSql: string[]): RollupSet | undefined {
  const alias = side === 'sessions' ? 's' : 'e';
  const refs = new Set(dimensionSql.flatMap((sql) => [...sql.replace(STRING_LITERAL, "''").matchAll(COLUMN_REF)].map((m) => `${m[1]}.${m[2]}`)));
  return ROLLUP_SETS.find((set) => {
    const columns = side === 'users' ? set.eventColumns : side === 'sessions' ? set.sessionColumns : set.sessionKeyColumns;
    if (!columns) return false;
    const kept = new Set(['local_date', ...columns].map((c) => `${alias}.${c}`));
    return [...refs].every((r) => kept.has(r));
  });
}
