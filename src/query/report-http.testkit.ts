import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { listenOnLoopback } from '../../test/support/listen.js';
import { afterAll, beforeAll, describe } from 'vitest';
import { describeWithService } from '../../test/support/services.js';
import { DEFAULT_PROPERTY_SETTINGS, type PropertySettings } from '../domain/property-settings.js';
import { TallyError } from '../infra/errors.js';
import { createTestDatabase } from '../infra/metadata/test-database.testkit.js';
import { FolderObjectStore } from '../infra/object-store/folder.object-store.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { PostgresWarehouse } from '../infra/warehouse/postgres.warehouse.js';
import { redshiftOnPostgres } from '../infra/warehouse/redshift-on-postgres.testkit.js';
import type { Dialect, Warehouse } from '../infra/warehouse/warehouse.port.js';
import { createApiFallbackRouter } from './api-fallback.router.js';
import { generateProperty, loadPartitions, mergeFixtures, writeParquetPartitions, type Fixture } from './report-fixture.testkit.js';
import { createReportRouter } from './report.router.js';

/**
 * The GA4 Data API over HTTP on a known fixture, for the method tests (pivots, comparisons,
 * cohorts, funnels): property p1 of tenant t1 (key k-t1) and the same property id under tenant t2
 * (key k-t2, never visible to k-t1), on DuckDB and, when DATABASE_URL is set, on PostgreSQL.
 */
export interface ReportHttp {
  fx: Fixture;
  /** The dialect of the warehouse the suite runs on (set before the suite's tests run). */
  dialect: Dialect;
  post(path: string, body: unknown, token?: string): Promise<{ status: number; json: any }>;
}

export const SETTINGS: PropertySettings = { ...DEFAULT_PROPERTY_SETTINGS, keyEvents: ['purchase'], tenantId: 't1', propertyId: 'p1' };
export const WEEK = { dateRanges: [{ startDate: '2024-03-01', endDate: '2024-03-07' }] };

export interface EveryWarehouseOptions {
  /** Rows loaded beside the generated ones (scripted users of a method's own test). */
  extra?: Fixture;
  /** Also run the suite with the Redshift dialect's SQL on PostgreSQL (as report.service.testkit.ts does). */
  redshiftOnPostgres?: boolean;
}

export function onEveryWarehouse(title: string, suite: (h: ReportHttp) => void, opts: EveryWarehouseOptions = {}): void {
  const { extra } = opts;
  const generated = mergeFixtures(generateProperty('t1', 'p1', 21, 40), generateProperty('t2', 'p1', 22, 25));
  const state = { fx: extra ? mergeFixtures(generated, extra) : generated } as { fx: Fixture };
  let dir: string;
  let wh: Warehouse;
  let server: Server;
  let base: string;
  const h: ReportHttp = {
    get fx() {
      return state.fx;
    },
    get dialect() {
      return wh.dialect;
    },
    async post(path, body, token = 'k-t1') {
      const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, json: text.startsWith('{') ? JSON.parse(text) : text };
    },
  };
  const on = (open: (dir: string) => Promise<Warehouse>) => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tally-methods-'));
      wh = await open(dir);
      await wh.init();
      await loadPartitions(wh, await writeParquetPartitions(state.fx, dir));
      const app = express();
      app.use(
        createReportRouter({
          warehouse: wh,
          authorize: async (token, propertyId) => {
            const tenantId = token === 'k-t1' ? 't1' : token === 'k-t2' ? 't2' : null;
            if (!tenantId) throw new TallyError('unauthenticated', 'Request is missing required authentication credential.');
            if (propertyId !== 'p1') throw new TallyError('not_found', `Property properties/${propertyId} not found.`);
            return { ...SETTINGS, tenantId };
          },
          now: () => new Date('2024-03-08T12:00:00Z'),
        }),
      );
      app.use(createApiFallbackRouter());
      ({ server, base } = await listenOnLoopback(app));
    });
    afterAll(async () => {
      await new Promise((r) => server?.close(r));
      await wh?.close();
      rmSync(dir, { recursive: true, force: true });
    });
    suite(h);
  };
  describe(`${title} on DuckDB`, () => on((d) => DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(d, k) })));
  describeWithService(`${title} on PostgreSQL`, 'postgres', 'DATABASE_URL', (url) => {
    let drop: (() => Promise<void>) | undefined;
    afterAll(async () => drop?.());
    on(async (d) => {
      const db = await createTestDatabase(url, 'methods');
      drop = db.drop;
      return new PostgresWarehouse({ url: db.url, store: new FolderObjectStore(d) });
    });
  });
  if (!opts.redshiftOnPostgres) return;
  // Redshift cannot run here: its dialect's SQL runs on PostgreSQL, which accepts nearly all of it.
  describeWithService(`${title}, Redshift dialect on PostgreSQL`, 'postgres', 'DATABASE_URL', (url) => {
    let drop: (() => Promise<void>) | undefined;
    afterAll(async () => drop?.());
    on(async (d) => {
      const db = await createTestDatabase(url, 'methods_rs', { byteOrderCollation: true });
      drop = db.drop;
      return redshiftOnPostgres(new PostgresWarehouse({ url: db.url, store: new FolderObjectStore(d) }));
    });
  });
}
