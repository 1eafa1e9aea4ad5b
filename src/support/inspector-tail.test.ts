import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { startTally, type TallyHandle } from '../server/tally-server.js';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { TenancyService } from '../tenancy/tenancy.service.js';
import { supportServices } from '../server/support.module.js';
import { PipelineStateRepository } from '../../jobs/pipeline-state.repository.js';
import { CookieClient } from '../../test/support/cookie-client.js';
import { describeWithService } from '../../test/support/services.js';
import { VisitorInspector, type InspectedEvent } from './inspector.service.js';
import { DeadLetterService } from './dead-letters.service.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0';
const CLIENT = '4242.1717';

/**
 * The visitor inspector reads the event log's tail: records the archiver has not filed yet (here:
 * no worker runs, so none is), on the embedded segment log and on Kafka. They are shown marked
 * `source: log`, verdict `not_yet_transformed` (a refusal still in the log: `dead_letter`), only
 * the property's own (another tenant's visitor with the same client id never shows), and a
 * bounded read says it was cut short.
 */
function tailSuite(title: string, env: () => Promise<Record<string, string>>, cleanup: () => Promise<void> = async () => undefined) {
  describe(title, () => {
    let tally: TallyHandle;
    let a: CreatedTenant;
    let b: CreatedTenant;
    let dir: string;
    let baseUrl: string;
    let config: ReturnType<typeof loadConfig>;
    const day = new Date().toISOString().slice(0, 10);

    const hit = async (t: CreatedTenant, host: string, page: string) => {
      const q = new URLSearchParams({ v: '2', tid: t.measurementId, cid: CLIENT, en: 'page_view', dl: `https://${host}/${page}`, _et: '100' });
      const r = await fetch(`${baseUrl}/g/collect?${q}`, { headers: { 'user-agent': UA } });
      expect(r.status).toBe(204);
    };

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-inspector-tail-'));
      config = loadConfig({ TALLY_DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent', ...(await env()) });
      // collector and api only: no archiver, so everything stays in the log's tail
      tally = await startTally(config, ['collector', 'api'], { logger: createLogger(process.env.TALLY_TEST_LOG ?? 'silent') });
      baseUrl = `http://127.0.0.1:${tally.port}`;
      a = await createTenant(tally.db, { name: 'A', email: `owner-${randomUUID()}@a.tail.test`, domain: 'a.example.com', planId: 'scale' });
      b = await createTenant(tally.db, { name: 'B', email: `owner-${randomUUID()}@b.tail.test`, domain: 'b.example.com', planId: 'scale' });
      await tally.credentials.refresh();
      for (const page of ['home', 'product', 'checkout']) await hit(a, 'a.example.com', page);
      await hit(a, 'not-listed.example.com', 'refused');
      // the same client id on another tenant's property
      for (const page of ['b-home', 'b-cart']) await hit(b, 'b.example.com', page);
    }, 120_000);

    afterAll(async () => {
      await tally?.stop();
      await cleanup();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('over HTTP (support staff): the visitor’s events still in the log, marked, and none of the other tenant’s', async () => {
      const password = 'inspector tail password 1';
      const email = `staff-${randomUUID()}@tally.test`;
      await new TenancyService(tally.db).createUser({ email, password, name: 'Staff', verified: true, isStaff: true });
      const staff = new CookieClient(baseUrl);
      expect((await staff.post('/api/auth/login', { email, password })).status).toBe(200);
      const why = { 'x-support-reason': 'ticket 13: where is my checkout' };
      const r = await staff.get(`/api/support/properties/${a.propertyId}/visitors/${CLIENT}?from=${day}&to=${day}`, why);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const events = r.body.events as InspectedEvent[];
      expect(events.filter((e) => e.verdict === 'not_yet_transformed').map((e) => e.url)).toEqual([
        'https://a.example.com/home',
        'https://a.example.com/product',
        'https://a.example.com/checkout',
      ]);
      for (const e of events.filter((x) => x.verdict === 'not_yet_transformed')) {
        expect(e.source).toBe('log');
        expect(e.why).toContain('event log');
      }
      const letter = events.find((e) => e.verdict === 'dead_letter')!;
      expect(letter).toMatchObject({ source: 'log', url: 'https://not-listed.example.com/refused' });
      expect(letter.why).toContain('hostname_not_allowed');
      expect(events).toHaveLength(4);
      expect(events.some((e) => e.url?.includes('b.example.com'))).toBe(false);
      expect(r.body.logTail).toMatchObject({ complete: true });
      expect(r.body.logTail.read).toBeGreaterThanOrEqual(6);
      expect(r.body.notes).toEqual([]);

      // B's own view of the same client id: only B's two
      const bView = await staff.get(`/api/support/properties/${b.propertyId}/visitors/${CLIENT}?from=${day}&to=${day}`, why);
      expect((bView.body.events as InspectedEvent[]).map((e) => e.url).sort()).toEqual(['https://b.example.com/b-cart', 'https://b.example.com/b-home']);
    }, 120_000);

    it('a bounded read says it was cut short', async () => {
      const services = supportServices({
        config,
        logger: tally.logger,
        db: tally.db,
        store: tally.store,
        log: tally.log,
        state: new PipelineStateRepository(tally.db),
        credentials: tally.credentials,
      });
      const properties = async (id: string) => {
        const p = tally.credentials.property(id);
        return p ? { organizationId: p.tenantId, settings: p } : null;
      };
      const inspector = new VisitorInspector({
        store: tally.store,
        pipeline: new PipelineStateRepository(tally.db),
        properties,
        deadLetters: services.deadLetters as DeadLetterService,
        tail: { log: tally.log, group: 'archiver', maxRecords: 2 },
      });
      const v = await inspector.inspect({ propertyId: a.propertyId, clientId: CLIENT, from: day, to: day });
      expect(v.logTail).toMatchObject({ complete: false, maxRecords: 2 });
      expect(v.notes.join(' ')).toContain('only in part');
    }, 60_000);
  });
}

tailSuite('visitor inspector: the event log’s tail (embedded segment log)', async () => ({}));

describeWithService('visitor inspector: the event log’s tail on Kafka', 'kafka', 'KAFKA_BROKERS', (brokers) => {
  const id = randomUUID().slice(0, 8);
  const topics = { raw: `inspect-raw-${id}`, dead: `inspect-dead-${id}` };
  tailSuite(
    'on Kafka',
    async () => ({
      TALLY_EVENT_LOG: 'kafka',
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_RAW: topics.raw,
      KAFKA_TOPIC_DEAD_LETTER: topics.dead,
      TALLY_LOG_PARTITIONS: '2',
    }),
    async () => {
      const admin = new Kafka({ clientId: `inspect-${id}-cleanup`, brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topics.raw, topics.dead] }).catch(() => undefined);
      await admin.disconnect();
    },
  );
});
