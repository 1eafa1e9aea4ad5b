import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForTopics } from '../../src/infra/event-log/kafka.event-log.js';
import { describeWithService } from '../support/services.js';
import { createTenantCli, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

interface Report {
  dimensionHeaders?: { name: string }[];
  metricHeaders?: { name: string; type: string }[];
  rows?: { dimensionValues: { value: string }[]; metricValues: { value: string }[] }[];
  totals?: { dimensionValues: { value: string }[]; metricValues: { value: string }[] }[];
  rowCount?: number;
  propertyQuota?: { tokensPerHour: { consumed: number; remaining: number } };
  kind: string;
}

/**
 * runRealtimeReport through `tally serve`: an event acknowledged by the collector shows in the
 * realtime report within 5 s (no pipeline run: the schedule is pushed out of the way, so only the
 * event log's tail can answer), and one tenant's realtime never shows another's events.
 */
function realtimeSuite(env: () => Promise<Record<string, string>>): void {
  let tally: TallyProcess;
  let a: TenantKeys;
  let b: TenantKeys;

  beforeAll(async () => {
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '3600000', ...(await env()) } });
    a = await createTenantCli(tally.dataDir, 'RealtimeA');
    b = await createTenantCli(tally.dataDir, 'RealtimeB');
  });
  afterAll(async () => {
    expect(await tally?.stop()).toBe(0);
  });

  const realtime = async (t: TenantKeys, body: unknown, propertyId = t.propertyId) => {
    const r = await fetch(`${tally.baseUrl}/v1beta/properties/${propertyId}:runRealtimeReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.readKey}` },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Report & { error?: { status: string } } };
  };
  const send = async (t: TenantKeys, ua: string, events: { name: string; title: string }[]) => {
    const r = await fetch(`${tally.baseUrl}/v1/collect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.ingestKey}`, 'user-agent': ua },
      body: JSON.stringify({
        events: events.map((e, i) => ({
          event_id: `${t.propertyId}-${randomBytes(4).toString('hex')}-${i}`,
          name: e.name,
          client_id: `c-${ua.length}`,
          url: `https://${t.propertyId}.example.com/`,
          title: e.title,
        })),
      }),
    });
    expect(r.status).toBe(200);
    return Date.now();
  };

  it('shows an acknowledged event within 5 s, by minute, event, device and screen, and never across tenants', async () => {
    const request = {
      dimensions: [{ name: 'minutesAgo' }, { name: 'eventName' }, { name: 'deviceCategory' }, { name: 'unifiedScreenName' }, { name: 'platform' }],
      metrics: [{ name: 'eventCount' }, { name: 'activeUsers' }, { name: 'screenPageViews' }, { name: 'keyEvents' }],
      metricAggregations: ['TOTAL'],
    };
    const empty = await realtime(a, request);
    expect(empty.status).toBe(200);
    expect(empty.body.kind).toBe('analyticsData#runRealtimeReport');
    expect(empty.body.rows).toBeUndefined();

    const ackedAt = await send(a, CHROME, [
      { name: 'page_view', title: 'Home' },
      { name: 'page_view', title: 'Home' },
      { name: 'purchase', title: 'Checkout' },
    ]);
    await send(a, IPHONE, [{ name: 'page_view', title: 'Home' }]);
    const bAckedAt = await send(b, CHROME, [{ name: 'page_view', title: 'Only B' }]);

    let seen: Report | undefined;
    while (Date.now() - ackedAt < 5_000) {
      const r = await realtime(a, request);
      expect(r.status).toBe(200);
      if (r.body.totals?.[0].metricValues[0].value === '4') {
        seen = r.body;
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    const latency = Date.now() - ackedAt;
    expect(seen, `4 events visible within 5 s (waited ${latency} ms)`).toBeDefined();
    const rows = seen!.rows!.map((r) => [...r.dimensionValues.map((v) => v.value), ...r.metricValues.map((v) => v.value)]);
    // two users (one per user agent), page views 3, one key event (purchase)
    expect(seen!.totals![0].metricValues.map((v) => v.value)).toEqual(['4', '2', '3', '1']);
    expect(seen!.metricHeaders!.map((h) => h.type)).toEqual(['TYPE_INTEGER', 'TYPE_INTEGER', 'TYPE_INTEGER', 'TYPE_FLOAT']);
    expect(rows).toContainEqual(['00', 'page_view', 'desktop', 'Home', 'web', '2', '1', '2', '0']);
    expect(rows).toContainEqual(['00', 'page_view', 'mobile', 'Home', 'web', '1', '1', '1', '0']);
    expect(rows).toContainEqual(['00', 'purchase', 'desktop', 'Checkout', 'web', '1', '1', '0', '1']);
    expect(rows.flat()).not.toContain('Only B');

    // B sees its own event only, within 5 s of its own acknowledgement: on Kafka it may sit on a
    // partition the tail has not read yet when A's four are already visible
    let bScreens: string[] | undefined;
    while (Date.now() - bAckedAt < 5_000) {
      const other = await realtime(b, { dimensions: [{ name: 'unifiedScreenName' }], metrics: [{ name: 'eventCount' }] });
      expect(other.status).toBe(200);
      bScreens = other.body.rows?.map((r) => r.dimensionValues[0].value);
      if (bScreens) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(bScreens, `B's event visible within 5 s (waited ${Date.now() - bAckedAt} ms)`).toEqual(['Only B']);
    // A's key cannot read B's realtime
    const crossed = await realtime(a, { metrics: [{ name: 'eventCount' }] }, b.propertyId);
    expect([403, 404]).toContain(crossed.status);

    // a core-only field is refused with the realtime schema's message
    const bad = await realtime(a, { dimensions: [{ name: 'pagePath' }], metrics: [{ name: 'eventCount' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.status).toBe('INVALID_ARGUMENT');
  });
}

describe('tally serve: runRealtimeReport on the embedded event log', () => {
  realtimeSuite(async () => ({}));
});

describeWithService('tally serve: runRealtimeReport on Kafka', 'kafka', 'KAFKA_BROKERS', (brokers) => {
  const id = randomBytes(6).toString('hex');
  const topics = { raw: `tally-test-${id}.raw-events`, dead: `tally-test-${id}.dead-letter` };
  realtimeSuite(async () => {
    const kafka = new Kafka({ clientId: `tally-test-${id}`, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: false,
      topics: [
        { topic: topics.raw, numPartitions: 2 },
        { topic: topics.dead, numPartitions: 2 },
      ],
    });
    await waitForTopics(admin, [topics.raw, topics.dead], { created: true });
    await admin.disconnect();
    return {
      TALLY_EVENT_LOG: 'kafka',
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_RAW: topics.raw,
      KAFKA_TOPIC_DEAD_LETTER: topics.dead,
      TALLY_LOG_PARTITIONS: '2',
    };
  });
});
