import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TallyError } from '../infra/errors.js';
import { openDb, type Db } from '../infra/metadata/db.js';
import { createManagementRouter } from './management.router.js';

const TOKEN = 'admin-token-for-tests';
const logged: Record<string, unknown>[] = [];
const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (logged.push(JSON.parse(String(chunk))), done()) }));

let dir: string;
let db: Db;
let server: http.Server;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tally-mgmt-'));
  db = await openDb({ dataDir: dir });
  const app = express();
  app.use(
    createManagementRouter({
      db,
      adminToken: TOKEN,
      log: logger,
      runJob: async (name, data) => {
        if (name === 'echo') return data;
        if (name === 'leaky') throw new Error('connect ECONNREFUSED postgres://tally:s3cret@10.0.0.7/tally');
        throw new TallyError('not_found', `no job ${name} here`);
      },
    }),
  );
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const post = (path: string, body: string) =>
  fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
const lastLine = async (res: Response) => JSON.parse((await res.text()).trim().split('\n').at(-1)!);

describe('management router errors', () => {
  it('masks an unexpected job failure in the stream and logs it with its stack', async () => {
    const res = await post('/internal/v1/jobs/run', JSON.stringify({ name: 'leaky' }));
    expect(res.status).toBe(200);
    const last = await lastLine(res);
    expect(last).toEqual({ error: { code: 'internal', reason: 'internal', message: 'internal error' } });
    expect(JSON.stringify(last)).not.toContain('s3cret');
    const entry = logged.find((l) => l.msg === 'job run failed') as { err?: { stack?: string } } | undefined;
    expect(entry?.err?.stack).toContain('ECONNREFUSED');
  });

  it("streams a refused job's message and reason", async () => {
    const last = await lastLine(await post('/internal/v1/jobs/run', JSON.stringify({ name: 'nope' })));
    expect(last).toEqual({ error: { code: 'not_found', reason: 'not_found', message: 'no job nope here' } });
  });

  it("takes the support commands' fields (tally inspect, replay, dead-letters through a running process); an unknown key is still refused", async () => {
    const inspect = { propertyId: '400000001', clientId: '555.777', from: '2026-12-01', to: '2026-12-06' };
    expect(await lastLine(await post('/internal/v1/jobs/run', JSON.stringify({ name: 'echo', ...inspect })))).toEqual({ result: inspect });
    const replay = { propertyId: '400000001', from: '2026-12-01', to: '2026-12-02', reason: 'ticket 13', dryRun: true };
    expect(await lastLine(await post('/internal/v1/jobs/run', JSON.stringify({ name: 'echo', ...replay })))).toEqual({ result: replay });
    const res = await post('/internal/v1/jobs/run', JSON.stringify({ name: 'echo', clientld: 'typo' }));
    expect(res.status).toBe(400);
  });

  it('answers a body that is not JSON with 400 malformed_body, not a masked internal error', async () => {
    const res = await post('/internal/v1/tenants', '{"name": ');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { reason: string } }).error.reason).toBe('malformed_body');
  });
});
