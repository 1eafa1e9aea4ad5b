import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { createTestDatabase } from '../infra/metadata/test-database.testkit.js';
import { startTally, type TallyHandle } from '../server/tally-server.js';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { requireService } from '../../test/support/services.js';
import { withScratchDuckDb, sqlText } from './parquet-files.js';
import { TRANSFORMED_TABLE_NAMES } from '../domain/transformed-schema.js';
import { LifecycleRepository } from './lifecycle.repository.js';
import { setRetention, planRetention } from './retention.js';
import { DELETE_USER_JOB, requestDeletion } from './deletion.js';
import type { AuditPort } from './lifecycle.ports.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const DAY = 86_400_000;
const PERSON = 'u-forget-me';

/** The imported truth: six people over three old days (8..10 days ago), each with page views and some purchases. */
function truth(now: number) {
  const rows: Record<string, unknown>[] = [];
  const day0 = Math.floor(now / DAY) * DAY - 10 * DAY + 12 * 3_600_000;
  const users = ['u1', 'u2', 'u3', 'u4', 'u5', PERSON];
  for (let d = 0; d < 3; d++) {
    for (const [i, u] of users.entries()) {
      const views = 2 + ((i + d) % 3);
      for (let v = 0; v < views; v++) {
        rows.push({
          event_id: `${u}-${d}-${v}`,
          timestamp: new Date(day0 + d * DAY + i * 60_000 + v * 10_000).toISOString(),
          name: 'page_view',
          client_id: `c-${u}`,
          user_id: u,
          url: `https://shop.example.com/p/${v}`,
          user_agent: CHROME,
          params: { section: `s${v}` },
        });
      }
      if ((i + d) % 2 === 0) {
        rows.push({
          event_id: `${u}-${d}-buy`,
          timestamp: day0 + d * DAY + i * 60_000 + 50_000,
          name: 'purchase',
          client_id: `c-${u}`,
          user_id: u,
          user_agent: CHROME,
          params: { value: 10 + i },
        });
      }
    }
  }
  return rows;
}

function lifecycleSuite(title: string, env: () => Promise<Record<string, string>>, cleanup: () => Promise<void> = async () => undefined) {
  describe(title, () => {
    let tally: TallyHandle;
    let a: CreatedTenant;
    let b: CreatedTenant;
    let dir: string;
    const now = Date.now();
    const rows = truth(now);

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-lifecycle-'));
      const config = loadConfig({
        TALLY_DATA_DIR: dir,
        PORT: '0',
        LOG_LEVEL: 'silent',
        TALLY_TRANSFORM_INTERVAL_MS: '3600000',
        TALLY_ARCHIVE_MAX_WAIT_MS: '100',
        ...(await env()),
      });
      tally = await startTally(config, ['api', 'worker'], { logger: createLogger(process.env.TALLY_TEST_LOG ?? 'silent') });
      a = await createTenant(tally.db, { name: 'A', email: `a-${Date.now()}@lifecycle.test`, domain: 'shop.example.com', planId: 'growth' });
      b = await createTenant(tally.db, { name: 'B', email: `b-${Date.now()}@lifecycle.test`, domain: 'other.example.com' });
      await tally.credentials.refresh();
    }, 180_000);
    afterAll(async () => {
      await tally?.stop();
      await cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const file = (name: string, text: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      return f;
    };
    const run = (name: string, data: Record<string, unknown>) => tally.runJob(name, data, () => undefined) as Promise<any>;
    const report = async (propertyId: string, readKey: string) => {
      const start = new Date(now - 11 * DAY).toISOString().slice(0, 10);
      const r = await fetch(`http://127.0.0.1:${tally.port}/v1beta/properties/${propertyId}:runReport`, {
        method: 'POST',
        headers: { authorization: `Bearer ${readKey}` },
        body: JSON.stringify({
          dateRanges: [{ startDate: start, endDate: 'today' }],
          dimensions: [{ name: 'date' }, { name: 'eventName' }],
          metrics: [{ name: 'eventCount' }, { name: 'totalUsers' }],
          orderBys: [{ dimension: { dimensionName: 'date' } }, { dimension: { dimensionName: 'eventName' } }],
        }),
      });
      expect(r.status).toBe(200);
      const body = (await r.json()) as { rows?: { dimensionValues: { value: string }[]; metricValues: { value: string }[] }[] };
      return (body.rows ?? []).map((x) => `${x.dimensionValues.map((d) => d.value).join('/')}=${x.metricValues.map((m) => m.value).join('/')}`);
    };
    /** The truth as the report should show it, optionally without one user. */
    const expected = (without?: string) => {
      const cells = new Map<string, { events: number; users: Set<string> }>();
      for (const r of rows) {
        if (r.user_id === without) continue;
        const t = typeof r.timestamp === 'number' ? r.timestamp : Date.parse(r.timestamp as string);
        const k = `${new Date(t).toISOString().slice(0, 10).replace(/-/g, '')}/${r.name}`;
        const c = cells.get(k) ?? { events: 0, users: new Set() };
        c.events++;
        c.users.add(r.user_id as string);
        cells.set(k, c);
      }
      return [...cells].sort(([x], [y]) => x.localeCompare(y)).map(([k, c]) => `${k}=${c.events}/${c.users.size}`);
    };

    it('imports a backfill with old timestamps; bad rows are named by line, good ones imported; report equals the imported truth; a re-import adds nothing', async () => {
      const lines = rows.map((r) => JSON.stringify(r));
      // bad rows at lines 3, 8 and 12 (1-based) of the file
      lines.splice(2, 0, '{"name": "page_view", "client_id": "x"}');
      lines.splice(7, 0, '{not json');
      lines.splice(11, 0, JSON.stringify({ name: 'bad name!', client_id: 'x', timestamp: now - DAY }));
      const f = file('a.ndjson', lines.join('\n') + '\n');
      const r = await run('import-file', { propertyId: a.propertyId, options: { file: f } });
      expect(r.rows).toBe(rows.length + 3);
      expect(r.imported).toBe(rows.length);
      expect(r.refused.map((x: { line: number }) => x.line)).toEqual([3, 8, 12]);
      expect(r.refused[0].reason).toMatch(/timestamp/);
      expect(r.refused[2].reason).toMatch(/name/);

      // B gets a few rows too, one of them the same user id (a tenant wall in the data)
      const csv = [
        'event_id,timestamp,name,client_id,user_id,user_agent,params',
        `b1,${now - 9 * DAY},page_view,c-b,${PERSON},"${CHROME}","{""k"":1}"`,
        `b2,${now - 9 * DAY + 1000},page_view,c-b2,ub2,"${CHROME}",`,
      ].join('\n');
      expect(await run('import-file', { propertyId: b.propertyId, options: { file: file('b.csv', csv) } })).toMatchObject({
        rows: 2,
        imported: 2,
        refused: [],
      });

      await tally.runPipeline();
      expect(await report(a.propertyId, a.readKey)).toEqual(expected());
      await run('import-file', { propertyId: a.propertyId, options: { file: f } });
      await tally.runPipeline();
      expect(await report(a.propertyId, a.readKey)).toEqual(expected());
    }, 240_000);

    const others = async (propertyId: string) => {
      const out: Record<string, string[]> = {};
      for (const t of TRANSFORMED_TABLE_NAMES) {
        const rs = await tally.warehouse!.query<Record<string, unknown>>(`SELECT * FROM ${t} WHERE property_id = $1 AND (user_id IS NULL OR user_id <> $2)`, [
          propertyId,
          PERSON,
        ]);
        out[t] = rs.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();
      }
      return out;
    };
    const rawRecords = async (zone: 'raw' | 'deadletter', tenantId: string, propertyId: string) => {
      const recs: Record<string, unknown>[] = [];
      for (const o of await tally.store.list(`${zone}/tenant=${tenantId}/property=${propertyId}/`)) {
        const body = (await tally.store.get(o.key))!;
        for (const l of zlib.gunzipSync(body).toString('utf8').split('\n')) if (l) recs.push(JSON.parse(l));
      }
      return recs;
    };
    const transformedRows = async (tenantId: string, propertyId: string, where: string) => {
      let n = 0;
      for (const t of TRANSFORMED_TABLE_NAMES) {
        const keys = (await tally.store.list(`transformed/${t}/tenant=${tenantId}/property=${propertyId}/`)).map((o) => o.key);
        n += await withScratchDuckDb(async (conn, scratch) => {
          let c = 0;
          for (const [i, k] of keys.entries()) {
            const f = path.join(scratch, `${i}.parquet`);
            fs.writeFileSync(f, (await tally.store.get(k))!);
            c += Number((await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlText(f)}) WHERE ${where}`)).getRows()[0][0]);
          }
          return c;
        });
      }
      return n;
    };

    it("deletes one person: no record of theirs left in the raw zone, the transformed zone or the warehouse; every other figure unchanged; B's same id untouched", async () => {
      const whereTheirs = `user_id = ${sqlText(PERSON)} OR client_id = ${sqlText(`c-${PERSON}`)}`;
      expect((await rawRecords('raw', a.organizationId, a.propertyId)).some((r) => r.user_id === PERSON)).toBe(true);
      expect(await transformedRows(a.organizationId, a.propertyId, whereTheirs)).toBeGreaterThan(0);
      const beforeA = await others(a.propertyId);
      const beforeB = await tally.warehouse!.query(`SELECT count(*) AS n FROM events WHERE property_id = $1 AND user_id = $2`, [b.propertyId, PERSON]);
      const reportBefore = await report(a.propertyId, a.readKey);

      const r = await run('delete-user', { propertyId: a.propertyId, options: { userId: PERSON, reason: 'ticket 4711' } });
      const theirs = rows.filter((x) => x.user_id === PERSON).length;
      expect(r.receipt).toMatchObject({ state: 'done', reason: 'ticket 4711', subject: { kind: 'user_id' } });
      expect(JSON.stringify(r.receipt)).not.toContain(PERSON);
      // imported twice: two copies of each of their events in the raw zone
      expect(r.counts).toMatchObject({ rawRecords: 2 * theirs, transformedRemaining: 0, warehouseRemaining: 0, warehouseEvents: theirs });

      expect((await rawRecords('raw', a.organizationId, a.propertyId)).filter((x) => x.user_id === PERSON || x.client_id === `c-${PERSON}`)).toEqual([]);
      expect(await transformedRows(a.organizationId, a.propertyId, whereTheirs)).toBe(0);
      for (const t of TRANSFORMED_TABLE_NAMES) {
        const [{ n }] = await tally.warehouse!.query<{ n: unknown }>(
          `SELECT count(*) AS n FROM ${t} WHERE property_id = $1 AND (user_id = $2 OR client_id = $3)`,
          [a.propertyId, PERSON, `c-${PERSON}`],
        );
        expect(Number(n), t).toBe(0);
      }
      expect(await others(a.propertyId)).toEqual(beforeA);
      expect(await report(a.propertyId, a.readKey)).toEqual(expected(PERSON));
      expect(reportBefore).toEqual(expected());
      expect(await tally.warehouse!.query(`SELECT count(*) AS n FROM events WHERE property_id = $1 AND user_id = $2`, [b.propertyId, PERSON])).toEqual(beforeB);
      // the receipt is kept
      const kept = await new LifecycleRepository(tally.db).receipts(a.propertyId);
      expect(kept.map((k) => k.id)).toContain(r.receipt.id);
    }, 240_000);

    it('deletes by client id, on the other property: its own rows only', async () => {
      const r = await run('delete-user', { propertyId: b.propertyId, options: { clientId: 'c-b2', reason: 'ticket 4712' } });
      expect(r.counts).toMatchObject({ rawRecords: 1, warehouseEvents: 1, warehouseRemaining: 0, transformedRemaining: 0 });
      expect((await rawRecords('raw', b.organizationId, b.propertyId)).map((x) => x.event_id)).toEqual(['b1']);
      const left = await tally.warehouse!.query<{ event_id: string }>(`SELECT event_id FROM events WHERE property_id = $1`, [b.propertyId]);
      expect(left.map((x) => x.event_id)).toEqual(['b1']);
    }, 120_000);

    it('exports the range in the GA4 export layout as NDJSON, CSV and Parquet, the same rows', async () => {
      const [{ n }] = await tally.warehouse!.query<{ n: unknown }>(`SELECT count(*) AS n FROM events WHERE property_id = $1 AND NOT is_bot`, [a.propertyId]);
      const from = new Date(now - 11 * DAY).toISOString().slice(0, 10);
      const to = new Date(now).toISOString().slice(0, 10);
      const out = (f: string) => path.join(dir, `export.${f}`);
      const nd = await run('export-file', { propertyId: a.propertyId, options: { from, to, format: 'ndjson', out: out('ndjson') } });
      expect(nd.rows).toBe(Number(n));
      const lines = fs
        .readFileSync(out('ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.length).toBe(Number(n));
      expect(lines[0]).toMatchObject({
        event_date: expect.stringMatching(/^\d{8}$/),
        platform: 'WEB',
        stream_id: a.propertyId,
        user_pseudo_id: expect.stringMatching(/^c-/),
      });
      expect(lines[0].event_timestamp % 1000).toBe(0);
      expect(lines.find((l) => l.event_name === 'purchase').event_params).toContainEqual({
        key: 'value',
        value: { string_value: null, int_value: expect.any(Number), double_value: null },
      });
      expect(lines.some((l) => l.user_id === PERSON)).toBe(false);
      const csv = await run('export-file', { propertyId: a.propertyId, options: { from, to, format: 'csv', out: out('csv') } });
      expect(csv.rows).toBe(Number(n));
      expect(fs.readFileSync(out('csv'), 'utf8').split('\n')[0]).toMatch(/^event_date,event_timestamp,event_name,event_params,user_id,user_pseudo_id/);
      const pq = await run('export-file', { propertyId: a.propertyId, options: { from, to, format: 'parquet', out: out('parquet') } });
      expect(pq.rows).toBe(Number(n));
      const fromParquet = await withScratchDuckDb(async (conn) =>
        (await conn.runAndReadAll(`SELECT count(*), count(DISTINCT tally.event_id), min(length(event_date)) FROM read_parquet(${sqlText(out('parquet'))})`))
          .getRows()[0]
          .map(Number),
      );
      expect(fromParquet).toEqual([Number(n), Number(n), 8]);
    }, 120_000);

    it('enforces retention per property below the plan, refuses a setting above it', async () => {
      const repo = new LifecycleRepository(tally.db);
      const plan = await planRetention('growth');
      await expect(setRetention(repo, planRetention, { propertyId: a.propertyId, planId: 'growth' }, { raw: plan.raw + 1 })).rejects.toMatchObject({
        code: 'unprocessable',
      });
      await setRetention(repo, planRetention, { propertyId: a.propertyId, planId: 'growth' }, { raw: 5, deadLetters: 5 });
      const bBefore = await rawRecords('raw', b.organizationId, b.propertyId);
      const r = await run('retention', {});
      expect(r.rawObjects).toBeGreaterThan(0);
      // A's raw objects were filed 8..10 days ago (a backfill keeps its time): gone; B's plan keeps 30 days
      expect(await rawRecords('raw', a.organizationId, a.propertyId)).toEqual([]);
      expect(await rawRecords('raw', b.organizationId, b.propertyId)).toEqual(bBefore);
      expect(await report(a.propertyId, a.readKey)).toEqual(expected(PERSON));
    }, 120_000);

    it('deleting a property leaves nothing with its id in any zone or the metadata; the other property keeps its data', async () => {
      const id = a.propertyId;
      const bEvents = await tally.warehouse!.query(`SELECT count(*) AS n FROM events WHERE property_id = $1`, [b.propertyId]);
      await tally.db('properties').where({ id }).delete();
      await run('purge-property', { tenantId: a.organizationId, propertyId: id });
      const everything = [
        ...(await tally.store.list('raw/')),
        ...(await tally.store.list('deadletter/')),
        ...(await tally.store.list('transformed/')),
        ...(await tally.store.list('state/')),
      ].map((o) => o.key);
      expect(everything.filter((k) => k.includes(`property=${id}/`))).toEqual([]);
      expect(everything.some((k) => k.includes(`property=${b.propertyId}/`))).toBe(true);
      for (const t of TRANSFORMED_TABLE_NAMES) {
        const [{ n }] = await tally.warehouse!.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${t} WHERE property_id = $1`, [id]);
        expect(Number(n), t).toBe(0);
      }
      for (const t of ['raw_objects', 'partitions', 'pipeline_state', 'usage_hourly', 'job_runs', 'deletion_receipts', 'property_retention', 'api_keys']) {
        expect(await tally.db(t).where({ property_id: id }).count({ n: '*' }).first(), t).toMatchObject({ n: expect.anything() });
        expect(Number((await tally.db(t).where({ property_id: id }).count({ n: '*' }).first())?.n), t).toBe(0);
      }
      expect(await tally.warehouse!.query(`SELECT count(*) AS n FROM events WHERE property_id = $1`, [b.propertyId])).toEqual(bEvents);
    }, 120_000);

    it('runs a deletion queued as the API queues it (the worker picks it up) and completes its receipt', async () => {
      const repo = new LifecycleRepository(tally.db);
      const audit: AuditPort = async () => undefined;
      const { receipt, job } = await requestDeletion(
        { repo, audit },
        { tenantId: b.organizationId, propertyId: b.propertyId, person: { kind: 'client_id', id: 'c-b' }, reason: 'queued', actor: { kind: 'operator' } },
      );
      expect(receipt.state).toBe('queued');
      await tally.jobs.enqueue(DELETE_USER_JOB, { ...job }, { jobId: `delete:${receipt.id}` });
      let done = receipt;
      for (let i = 0; i < 600 && done.state !== 'done' && done.state !== 'failed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        done = (await repo.receipt(b.propertyId, receipt.id))!;
      }
      expect(done).toMatchObject({ state: 'done', counts: { rawRecords: 1, warehouseEvents: 1, warehouseRemaining: 0 } });
      expect(await rawRecords('raw', b.organizationId, b.propertyId)).toEqual([]);
    }, 120_000);
  });
}

lifecycleSuite('data lifecycle (embedded: local log, folder store, DuckDB)', async () => ({}));

// the services profile: Kafka, S3, PostgreSQL metadata and warehouse
{
  const brokers = requireService('kafka', 'KAFKA_BROKERS');
  const bucket = requireService('s3', 'S3_BUCKET');
  const databaseUrl = requireService('postgres', 'DATABASE_URL');
  if (!brokers || !bucket || !databaseUrl) {
    describe.skip('data lifecycle on the services profile (skipped: KAFKA_BROKERS, S3_BUCKET and DATABASE_URL needed)', () =>
      it('needs the services', () => undefined));
  } else {
    const drops: (() => Promise<void>)[] = [];
    const id = `${Date.now()}-${process.pid}`;
    lifecycleSuite(
      'data lifecycle on the services profile (Kafka, S3, PostgreSQL warehouse)',
      async () => {
        const meta = await createTestDatabase(databaseUrl, 'lifecycle');
        const wh = await createTestDatabase(databaseUrl, 'lifecycle_wh');
        drops.push(meta.drop, wh.drop);
        const topics = { raw: `lifecycle-raw-${id}`, dead: `lifecycle-dead-${id}` };
        const kafka = new Kafka({ clientId: `lifecycle-${id}`, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
        const admin = kafka.admin();
        await admin.connect();
        await admin.createTopics({
          waitForLeaders: true,
          topics: [
            { topic: topics.raw, numPartitions: 2 },
            { topic: topics.dead, numPartitions: 2 },
          ],
        });
        await admin.disconnect();
        return {
          DATABASE_URL: meta.url,
          TALLY_WAREHOUSE: 'postgres',
          WAREHOUSE_URL: wh.url,
          TALLY_EVENT_LOG: 'kafka',
          KAFKA_BROKERS: brokers,
          KAFKA_TOPIC_RAW: topics.raw,
          KAFKA_TOPIC_DEAD_LETTER: topics.dead,
          TALLY_LOG_PARTITIONS: '2',
          S3_BUCKET: bucket,
          S3_ENDPOINT: process.env.S3_ENDPOINT ?? '',
          S3_REGION: process.env.S3_REGION ?? 'us-east-1',
          S3_PREFIX: `test/lifecycle/${id}`,
          S3_FORCE_PATH_STYLE: process.env.S3_FORCE_PATH_STYLE ?? 'true',
          AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
          AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
        };
      },
      async () => {
        for (const d of drops) await d().catch(() => undefined);
        const admin = new Kafka({ clientId: `lifecycle-${id}-cleanup`, brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        await admin.deleteTopics({ topics: [`lifecycle-raw-${id}`, `lifecycle-dead-${id}`] }).catch(() => undefined);
        await admin.disconnect();
      },
    );
  }
}
