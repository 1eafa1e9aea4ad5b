import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { TallyError } from '../../infra/errors.js';
import { DuckDbSqlParser } from '../../infra/sql/duckdb.sql-parser.js';
import type { SandboxScope, Warehouse } from '../../infra/warehouse/warehouse.port.js';
import { createSqlRouter, type SqlLimits } from './sql.router.js';

/** The SQL router alone on a loopback port (tests and the `sql` benchmark; no vitest here). */
export interface SqlApp {
  base: string;
  close(): Promise<void>;
}

/** The SQL router alone on a loopback port, over `warehouse`, with read keys `keys` (key -> scope). */
export async function startSqlApp(warehouse: Warehouse, keys: Record<string, SandboxScope>, limits: Partial<SqlLimits> = {}): Promise<SqlApp> {
  const parser = new DuckDbSqlParser();
  const app = express();
  app.use(
    createSqlRouter({
      warehouse,
      parser,
      authorize: async (token, propertyId) => {
        const scope = token ? keys[token] : undefined;
        if (!scope) throw new TallyError('unauthenticated', 'unknown or revoked read key');
        if (propertyId && propertyId !== scope.propertyId) throw new TallyError('permission_denied', `the key may not read property ${propertyId}`);
        return scope;
      },
      limits: { maxRows: 1000, timeoutMs: 5000, concurrency: 2, perTenant: 1, queuePerTenant: 50, requestsPerKeyPerMinute: 10_000, ...limits },
      logError: (err) => console.error(err),
    }),
  );
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await new Promise((r) => server.close(r));
      await parser.close();
    },
  };
}

export async function postSql(base: string, key: string, body: Record<string, unknown>, accept = 'application/json'): Promise<Response> {
  return fetch(`${base}/v1/sql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept },
    body: JSON.stringify(body),
  });
}
