import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { PropertySettings } from '../domain/property-settings.js';
import { describeWithService } from '../../test/support/services.js';
import { createTestDatabase } from '../infra/metadata/test-database.testkit.js';
import { FolderObjectStore } from '../infra/object-store/folder.object-store.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { PostgresWarehouse } from '../infra/warehouse/postgres.warehouse.js';
import { redshiftOnPostgres } from '../infra/warehouse/redshift-on-postgres.testkit.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import { COUNTRY_NAMES } from './country-names.js';
import {
  ALL_METRICS,
  generateProperty,
  groundTruth,
  loadPartitions,
  writeParquetPartitions,
  type Fixture,
  type Truth,
  type TruthQuery,
  type WrittenPartition,
  mergeFixtures,
} from './report-fixture.testkit.js';
import { parseRunReportRequest } from './report-request.js';
import type { RunReportResponse } from './report-response.js';
import { runReport } from './report.service.js';

/** The fixture, the warehouses it is loaded into and the ground-truth checks of the report service tests. */
export const settings: PropertySettings = {
  tenantId: 't1',
  propertyId: 'p1',
  timeZone: 'UTC',
  currencyCode: 'EUR',
  sessionTimeoutMinutes: 30,
  engagedSessionSeconds: 10,
  keyEvents: ['purchase'],
};
export const START = '2024-03-01';
export const END = '2024-03-07';

export let dir: string;
export let wh: Warehouse;
export let fx: Fixture;
let parts: WrittenPartition[];

/**
 * Writes the fixture and runs `suite` on every warehouse: DuckDB, and PostgreSQL and the Redshift
 * dialect on PostgreSQL where the service runs. The suite reads the loaded warehouse from `wh`.
 */
export function onEveryWarehouse(suite: () => void): void {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-report-'));
    const own = generateProperty('t1', 'p1', 1, 60);
    // Same property id under another tenant, and another property of the same tenant: never visible.
    const other = generateProperty('t2', 'p1', 2, 30);
    const sibling = generateProperty('t1', 'p2', 3, 30);
    fx = mergeFixtures(own, other, sibling);
    parts = await writeParquetPartitions(fx, dir);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('report service on DuckDB', () => {
    onWarehouse(suite, () => DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) }));
  });

  describeWithService('report service on PostgreSQL', 'postgres', 'DATABASE_URL', (baseUrl) => {
    let drop: (() => Promise<void>) | undefined;
    afterAll(async () => drop?.());
    onWarehouse(suite, async () => {
      const db = await createTestDatabase(baseUrl, 'report');
      drop = db.drop;
      return new PostgresWarehouse({ url: db.url, store: new FolderObjectStore(dir) });
    });
  });

  // Redshift cannot run here: its dialect's SQL runs on PostgreSQL, which accepts all of it.
  describeWithService('report service, Redshift dialect on PostgreSQL', 'postgres', 'DATABASE_URL', (baseUrl) => {
    let drop: (() => Promise<void>) | undefined;
    afterAll(async () => drop?.());
    onWarehouse(suite, async () => {
      const db = await createTestDatabase(baseUrl, 'report_rs', { byteOrderCollation: true });
      drop = db.drop;
      return redshiftOnPostgres(new PostgresWarehouse({ url: db.url, store: new FolderObjectStore(dir) }));
    });
  });
}

/** Opens an empty warehouse reading objects under `dir`, loads the fixture into it and runs `suite`. */
function onWarehouse(suite: () => void, open: () => Promise<Warehouse>): void {
  beforeAll(async () => {
    wh = await open();
    await wh.init();
    await loadPartitions(wh, parts);
  });
  afterAll(async () => wh?.close());
  suite();
}

export const report = (body: Record<string, unknown>) =>
  runReport(wh, settings, parseRunReportRequest({ dateRanges: [{ startDate: START, endDate: END }], ...body }, { timeZone: 'UTC' }));

export const ymd = (d: string) => d.replace(/-/g, '');
export const countryName = (c: string | null) => (c ? (COUNTRY_NAMES.get(c) ?? c) : '(not set)');

export function truth(q: Partial<TruthQuery> & Pick<TruthQuery, 'eventKey'>): Map<string, Truth> {
  return groundTruth(fx, { tenantId: 't1', propertyId: 'p1', start: START, end: END, ...q });
}

export function rowsByKey(res: RunReportResponse): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const row of res.rows ?? []) {
    const values: Record<string, string> = {};
    res.metricHeaders!.forEach((h, i) => (values[h.name] = row.metricValues[i].value));
    out.set(row.dimensionValues.map((v) => v.value).join('|'), values);
  }
  return out;
}

/** The report equals the ground truth, metric by metric, for every non-empty row. */
export function expectTruth(res: RunReportResponse, expected: Map<string, Truth>, metrics: readonly (keyof Truth)[]) {
  const got = rowsByKey(res);
  const want = [...expected].filter(([, t]) => metrics.some((m) => t[m] !== 0));
  expect([...got.keys()].sort()).toEqual(want.map(([k]) => k).sort());
  for (const [key, t] of want) {
    for (const m of metrics) {
      const v = got.get(key)![m];
      expect(typeof v).toBe('string');
      if (Number.isInteger(t[m]) && !['averageSessionDuration', 'userEngagementDuration'].includes(m)) {
        expect(v, `${m} @ ${key}`).toBe(String(t[m]));
      } else {
        expect(Number(v), `${m} @ ${key}`).toBeCloseTo(t[m], 9);
      }
    }
  }
  expect(res.rowCount ?? 0).toBe(want.length);
}

export const METRIC_SETS = [ALL_METRICS.slice(0, 10), ALL_METRICS.slice(10)];
export const metricsBody = (ms: readonly string[]) => ms.map((name) => ({ name }));
