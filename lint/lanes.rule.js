// @ts-check
/**
 * `tally/lanes`: which folder may import which, checked on the resolved path of every relative
 * import (static, dynamic and re-exports). ESLint's `no-restricted-imports` matches the import
 * string, so it cannot tell `../jobs/x.js` (the top-level jobs/ folder) from `../infra/jobs/x.js`
 * or `../x.js` inside a folder from `../x.js` out of it; resolving the path can.
 *
 * The table (repo-relative folders):
 * - `src/domain` imports nothing of ours outside itself.
 * - `src/infra` imports only `src/domain` (and `migrations/`, the schema it runs).
 * - a feature (`src/ingest`, `src/query`, `src/tenancy`, `src/billing`, `src/support`,
 *   `src/lifecycle`, `src/accounts`, `src/demo`, `jobs`) imports the domain and, of infra, only
 *   ports (`*.port.ts`) and the shared kernel (errors and their one HTTP body, logger, metrics,
 *   config, the metadata `Db`); never
 *   another feature: what it needs of one is a port it declares, wired by `src/server`.
 * - `src/server` and `src/cli` (composition roots) import anything.
 * - production code never imports test code (`*.test.ts`, `*.contract.ts`, `*.testkit.ts`,
 *   `*.fixture.ts`, `test/`, `bench/` and its launcher `bin/bench.mjs`). Test code itself has no lanes.
 */
import path from 'node:path';

export const FEATURES = ['src/ingest', 'src/query', 'src/tenancy', 'src/billing', 'src/support', 'src/lifecycle', 'src/accounts', 'src/demo', 'jobs'];
// the metrics registry is kernel like the logger: one process-wide set of named instruments that
// every module records to (src/infra/metrics/README.md), with no second implementation to port
const INFRA_KERNEL = [
  'src/infra/errors.ts',
  'src/infra/error-body.ts',
  'src/infra/logger.ts',
  'src/infra/config/config.ts',
  'src/infra/metadata/db.ts',
  'src/infra/metrics/metrics.ts',
];
const TEST_FILE = /\.(test|contract|testkit|fixture)\.ts$|^(test|bench)\/|^bin\/bench\.mjs$/;

const under = (file, dir) => file === dir || file.startsWith(dir + '/');
const areaOf = (file) =>
  FEATURES.find((f) => under(file, f)) ?? ['src/domain', 'src/infra', 'src/server', 'src/cli', 'migrations'].find((d) => under(file, d)) ?? null;

/** Why `from` may not import `to` (both repo-relative), or null when it may. */
export function laneViolation(from, to) {
  if (TEST_FILE.test(from)) return null;
  if (TEST_FILE.test(to)) return 'production code never imports test code (tests, contracts, test kits, fixtures)';
  const a = areaOf(from);
  const b = areaOf(to);
  if (a === b || a === 'src/server' || a === 'src/cli' || a === null) return null;
  if (a === 'src/domain') return 'src/domain imports nothing of ours outside itself';
  if (a === 'src/infra') return b === 'src/domain' || b === 'migrations' ? null : 'src/infra imports only src/domain';
  if (a === 'migrations') return b === null ? null : 'migrations import nothing of ours';
  // a feature
  if (b === 'src/domain') return null;
  if (b === 'src/infra')
    return to.endsWith('.port.ts') || INFRA_KERNEL.includes(to)
      ? null
      : `${a} imports infra ports and the kernel (errors, logger, metrics, config, db), not an implementation`;
  return `${a} may not import ${b ?? to}: declare a port in ${a} and let src/server wire it`;
}

/** @type {import('eslint').Rule.RuleModule} */
export const lanesRule = {
  meta: { type: 'problem', docs: { description: 'import lanes between Tally modules' }, schema: [] },
  create(context) {
    const root = context.cwd;
    const from = path.relative(root, context.filename).split(path.sep).join('/');
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = path
        .relative(root, path.resolve(path.dirname(context.filename), source))
        .split(path.sep)
        .join('/')
        .replace(/\.js$/, '.ts');
      const why = laneViolation(from, to);
      if (why) context.report({ node, message: `${from} -> ${to}: ${why}` });
    };
    const fromSource = (node) => node.source && check(node, node.source.value);
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
