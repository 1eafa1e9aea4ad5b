import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/services.js';
import { BIN, ROOT, embeddedEnv, tempDataDir } from '../support/tally-process.js';
import { tallyCli } from '../support/cli.js';
import { startCollectorCluster, type CollectorCluster } from '../support/collector-cluster.js';
import { createTestDatabase } from '../../src/infra/metadata/test-database.testkit.js';
import { waitForTopics } from '../../src/infra/event-log/kafka.event-log.js';
import { COLLECTOR_NODE_FLAGS, MAX_FAILED_STARTS } from '../../src/server/collector-cluster.js';

/**
 * `tally collector --workers 2` on PostgreSQL, Kafka and Redis: both workers serve, /metrics sums
 * them, a killed worker is replaced, and every request answered 2xx (before, during and after the
 * kill) is in the log.
 */
/** `tally_ingest_events_total{protocol="ga4_mp",outcome="accepted"}` as /metrics gives it. */
async function acceptedMpEvents(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('tally_ingest_events_total{') && l.includes('outcome="accepted"') && l.includes('ga4'));
  return Number(line?.split(' ').pop() ?? 0);
}

describeWithService('tally collector --workers', 'redis', 'REDIS_URL', (redisUrl) => {
  describeWithService('on PostgreSQL', 'postgres', 'DATABASE_URL', (databaseUrl) => {
    describeWithService('two workers on Kafka share the port; nothing acknowledged is lost when one is killed', 'kafka', 'KAFKA_BROKERS', (brokers) => {
      const id = randomBytes(6).toString('hex');
      const topics = { raw: `tally-test-${id}.raw-events`, dead: `tally-test-${id}.dead-letter` };
      const kafka = new Kafka({ clientId: `tally-test-${id}`, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
      let metaDb: Awaited<ReturnType<typeof createTestDatabase>>;
      let cluster: CollectorCluster | null = null;
      let mp: (clientId: string) => Promise<number>;

      beforeAll(async () => {
        metaDb = await createTestDatabase(databaseUrl, 'workers');
        const admin = kafka.admin();
        await admin.connect();
        await admin.createTopics({
          waitForLeaders: false,
          topics: [
            { topic: topics.raw, numPartitions: 4 },
            { topic: topics.dead, numPartitions: 4 },
          ],
        });
        await waitForTopics(admin, [topics.raw, topics.dead], { created: true });
        await admin.disconnect();
        const env = {
          DATABASE_URL: metaDb.url,
          TALLY_EVENT_LOG: 'kafka',
          KAFKA_BROKERS: brokers,
          KAFKA_TOPIC_RAW: topics.raw,
          KAFKA_TOPIC_DEAD_LETTER: topics.dead,
          TALLY_LOG_PARTITIONS: '4',
          REDIS_URL: redisUrl,
          TALLY_COUNTERS_PREFIX: `tally-test-${id}:counters`,
        };
        const tenant = JSON.parse(
          await tallyCli(
            tempDataDir('tally-cli-'),
            ['tenant', 'create', '--name', 'Workers', '--email', 'o@workers.example.com', '--domain', 'workers.example.com', '--plan', 'scale', '--json'],
            env,
          ),
        ) as { measurementId: string; apiSecret: string };
        // debug: each worker logs the requests it answers, with its pid
        cluster = await startCollectorCluster(2, { ...env, LOG_LEVEL: 'debug' });
        const url = `${cluster.baseUrl}/mp/collect?measurement_id=${tenant.measurementId}&api_secret=${tenant.apiSecret}`;
        mp = async (clientId) => {
          try {
            // a connection the primary handed to the worker being killed may never be answered: no
            // answer within 15 s is no acknowledgement (without the bound one such request hung the test)
            const r = await fetch(url, {
              method: 'POST',
              body: JSON.stringify({ client_id: clientId, events: [{ name: 'page_view', params: { n: 1 } }] }),
              signal: AbortSignal.timeout(15_000),
            });
            await r.arrayBuffer();
            return r.status;
          } catch {
            return 0; // the connection died with its worker, or no answer: not acknowledged
          }
        };
      }, 300_000);

      afterAll(async () => {
        if (cluster) expect(await cluster.stop()).toBe(0);
        const admin = kafka.admin();
        await admin.connect();
        await admin.deleteTopics({ topics: [topics.raw, topics.dead] }).catch(() => undefined);
        await admin.disconnect();
        await metaDb?.drop();
      }, 120_000);

      /** Sends `ids` with `parallel` requests in flight; the ids answered 204. */
      async function send(ids: string[], parallel = 16, during?: () => void): Promise<string[]> {
        const acked: string[] = [];
        let next = 0;
        await Promise.all(
          Array.from({ length: parallel }, async () => {
            while (next < ids.length) {
              const i = next++;
              if (i === Math.floor(ids.length / 4)) during?.();
              if ((await mp(ids[i])) === 204) acked.push(ids[i]);
            }
          }),
        );
        return acked;
      }

      it('serves from both workers, replaces a killed one, and every 2xx is in the raw-events topic', async () => {
        const c = cluster!;
        const [first, second] = c.listening;
        const before = await send(Array.from({ length: 200 }, (_, i) => `before-${i}`));
        expect(before).toHaveLength(200);
        const servedBy = new Map<number, number>();
        for (const l of c.lines()) if (l.msg === 'ingest request') servedBy.set(l.pid as number, (servedBy.get(l.pid as number) ?? 0) + 1);
        expect(servedBy.get(first)).toBeGreaterThan(0);
        expect(servedBy.get(second)).toBeGreaterThan(0);
        // whichever worker takes the scrape, /metrics counts both workers' requests
        for (let i = 0; i < 6; i++) expect(await acceptedMpEvents(c.baseUrl)).toBe(200);
        // each worker runs with the primary's V8 flags (a larger young generation)
        for (const pid of [first, second])
          expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(COLLECTOR_NODE_FLAGS));

        // a worker killed under load: its in-flight requests get no answer; the others go on
        const during = await send(
          Array.from({ length: 300 }, (_, i) => `during-${i}`),
          16,
          () => process.kill(first, 'SIGKILL'),
        );
        expect(during.length).toBeGreaterThan(0);
        const now = await c.waitListening(2, [first]);
        expect(now).toContain(second);
        const after = await send(Array.from({ length: 100 }, (_, i) => `after-${i}`));
        expect(after).toHaveLength(100);

        const acked = new Set([...before, ...during, ...after]);
        const seen = new Set<string>();
        const consumer = kafka.consumer({ groupId: `tally-test-${id}-check` });
        await consumer.connect();
        await consumer.subscribe({ topic: topics.raw, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            seen.add((JSON.parse(String(message.value)) as { client_id: string }).client_id);
          },
        });
        try {
          await expect.poll(() => [...acked].filter((a) => !seen.has(a)).length, { timeout: 60_000, interval: 500 }).toBe(0);
        } finally {
          await consumer.disconnect();
        }
      }, 300_000);
    });
  });
});

/**
 * Workers that cannot start (here: their metadata database does not exist) are not respawned
 * forever: the primary stops with exit 1 after MAX_FAILED_STARTS in a row, so a supervisor sees it.
 * (An orphaned primary once respawned such workers every second for an hour on this machine.)
 */
describeWithService('tally collector --workers when workers cannot start', 'redis', 'REDIS_URL', (redisUrl) => {
  describeWithService('on PostgreSQL', 'postgres', 'DATABASE_URL', (databaseUrl) => {
    describeWithService('and Kafka', 'kafka', 'KAFKA_BROKERS', (brokers) => {
      it('gives up with exit 1 instead of respawning them forever', async () => {
        const missing = new URL(databaseUrl);
        missing.pathname = `/tally_missing_${randomBytes(4).toString('hex')}`;
        const child = spawn(process.execPath, [BIN, 'collector', '--workers', '2'], {
          cwd: ROOT,
          env: {
            ...embeddedEnv(),
            TALLY_DATA_DIR: tempDataDir('tally-cluster-'),
            PORT: '0',
            HOST: '127.0.0.1',
            TALLY_DEMO: 'off',
            LOG_LEVEL: 'info',
            DATABASE_URL: missing.toString(),
            TALLY_EVENT_LOG: 'kafka',
            KAFKA_BROKERS: brokers,
            REDIS_URL: redisUrl,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout!.on('data', (d) => (out += d));
        child.stderr!.on('data', (d) => (out += d));
        const code = await new Promise<number | null>((resolve) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            resolve(null);
          }, 150_000);
          child.once('exit', (c) => {
            clearTimeout(timer);
            resolve(c);
          });
        });
        expect(code, out.slice(-2_000)).toBe(1);
        const gaveUp = out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg?: string; failedStarts?: number })
          .find((j) => j.msg === 'collector workers keep failing at start; stopping');
        expect(gaveUp?.failedStarts).toBe(MAX_FAILED_STARTS);
      }, 180_000);
    });
  });
});
