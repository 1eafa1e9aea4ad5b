import type { Module } from './modules.js';
import { openCounters } from './infra.factory.js';
import { createReportRouter } from '../query/report.router.js';
import { createSqlRouter } from '../query/sql/sql.router.js';
import { DuckDbSqlParser } from '../infra/sql/duckdb.sql-parser.js';
import { DuckDbRe2Syntax } from '../infra/regex/re2-syntax.js';

/**
 * The GA4-compatible report API (`/v1beta`) and tenant SQL (`/v1/sql`) on the api process: a key's
 * or a member's session through accounts, then billing's read gate (out of modules.ts to keep it
 * under 500 lines).
 */
export const REPORTS_MODULE: Module<'reports'> = {
  needs: ['warehouse', 'state', 'credentials', 'accounts', 'billing'],
  start({ config, get, logger, http }) {
    const state = get('state');
    // RE2 syntax for regex filters; report requests per key per minute counted like ingest's (Redis when set)
    const regexSyntax = new DuckDbRe2Syntax();
    const counters = openCounters(config, logger);
    const logError = (err: unknown) => logger.error({ err }, 'report request failed');
    http.app().use(
      createReportRouter({
        warehouse: get('warehouse'),
        completeUpTo: (propertyId) => state.completeUpTo(propertyId),
        // after a failed payment's grace period: 403 naming billing (ingest continues)
        authorize: async (token, propertyId, req) => {
          const p = await get('accounts').authorizeReport(token, propertyId, req);
          await get('billing').entitlements.assertReadAllowed(p.tenantId);
          return p;
        },
        notice: (tenantId) => get('billing').entitlements.noticeFor(tenantId),
        logError,
        regexSyntax,
        counters,
        limits: config.reports,
      }),
    );
    // tenant SQL (`POST /v1/sql`): parsed by a data-less DuckDB, run through the warehouse's sandbox
    const sqlParser = new DuckDbSqlParser();
    const { sqlMaxRows, sqlTimeoutMs, ...fair } = config.reports;
    http.app().use(
      createSqlRouter({
        warehouse: get('warehouse'),
        parser: sqlParser,
        authorize: get('accounts').authorizeSql,
        counters,
        logError: (err: unknown) => logger.error({ err }, 'sql request failed'),
        limits: { ...fair, maxRows: sqlMaxRows, timeoutMs: sqlTimeoutMs },
      }),
    );
    return { regexSyntax, counters, sqlParser };
  },
  async stop(p) {
    await p.counters.close();
    await p.regexSyntax.close();
    await p.sqlParser.close();
  },
};
