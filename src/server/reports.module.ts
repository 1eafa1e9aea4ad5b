import type { Module, Parts } from './module.types.js';
import { openCounters } from './infra.factory.js';
import { createReportRouter } from '../query/report.router.js';
import { createSqlRouter } from '../query/sql/sql.router.js';
import { DuckDbSqlParser } from '../infra/sql/duckdb.sql-parser.js';
import { DuckDbRe2Syntax } from '../infra/regex/re2-syntax.js';
import { RealtimeTail } from '../query/realtime-tail.js';
import { tenantCustomDefinitions } from '../tenancy/custom-definitions.repository.js';

/**
 * The GA4 Data API report routes and tenant SQL (`POST /v1/sql`), behind billing's read and feature
 * gates. The report router keeps one result cache per process; the read gate runs inside
 * `authorize`, before any cached answer is looked at. Report token budgets are the organisation's
 * plan's (`reportQuota`); runRealtimeReport reads the event log's tail (this process's own
 * consumer group) and needs the plan's `realtime` feature.
 */
export const REPORTS_MODULE: Module<'reports'> = {
  needs: ['warehouse', 'state', 'credentials', 'accounts', 'billing', 'eventLog', 'db'],
  async start({ config, get, logger, http }): Promise<Parts['reports']> {
    const state = get('state');
    const entitlements = get('billing').entitlements;
    // RE2 syntax for regex filters; report requests per key per minute counted like ingest's (Redis when set)
    const regexSyntax = new DuckDbRe2Syntax();
    const counters = openCounters(config, logger);
    const logError = (err: unknown) => logger.error({ err }, 'report request failed');
    const realtime = await new RealtimeTail(get('eventLog'), { onError: (err) => logger.warn({ err }, 'realtime: unreadable log record') }).start();
    http.app().use(
      createReportRouter({
        warehouse: get('warehouse'),
        completeUpTo: (propertyId) => state.completeUpTo(propertyId),
        // a partition (re)load by any process makes the result cache miss
        loadVersion: (propertyId) => state.loadVersion(propertyId),
        // a currency rates refresh makes cached revenue answers miss
        ratesVersion: () => state.ratesVersion(),
        // after a failed payment's grace period: 403 naming billing (ingest continues)
        authorize: async (token, propertyId, req) => {
          const p = await get('accounts').authorizeReport(token, propertyId, req);
          await entitlements.assertReadAllowed(p.tenantId);
          // the plan's report token budgets (read through the same 1 s cache as the gate)
          const e = await entitlements.entitlementsFor(p.tenantId);
          return { ...p, planId: e?.planId };
        },
        realtimeGate: (tenantId) => entitlements.assertFeature(tenantId, 'realtime'),
        notice: (tenantId) => entitlements.noticeFor(tenantId),
        logError,
        regexSyntax,
        counters,
        limits: config.reports,
        realtime: realtime.window,
        customDefinitions: (p) => tenantCustomDefinitions(get('db'), p.tenantId, p.propertyId),
      }),
    );
    // tenant SQL (`POST /v1/sql`): parsed by a data-less DuckDB, run through the warehouse's sandbox;
    // only on a plan with the `sql` feature (403 plan_feature_unavailable), and closed like reports after the grace period
    const sqlParser = new DuckDbSqlParser();
    const { sqlMaxRows, sqlTimeoutMs, ...fair } = config.reports;
    http.app().use(
      createSqlRouter({
        warehouse: get('warehouse'),
        parser: sqlParser,
        authorize: async (token, propertyId, req) => {
          const scope = await get('accounts').authorizeSql(token, propertyId, req);
          await entitlements.assertFeature(scope.tenantId, 'sql');
          await entitlements.assertReadAllowed(scope.tenantId);
          return scope;
        },
        counters,
        logError: (err: unknown) => logger.error({ err }, 'sql request failed'),
        limits: { ...fair, maxRows: sqlMaxRows, timeoutMs: sqlTimeoutMs },
      }),
    );
    return { regexSyntax, counters, sqlParser, realtime };
  },
  async stop(p) {
    await p.realtime.stop();
    await p.counters.close();
    await p.regexSyntax.close();
    await p.sqlParser.close();
  },
};
