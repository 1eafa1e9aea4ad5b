import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { waitForTopics } from '../../src/infra/event-log/kafka.event-log.js';
import { createTestDatabase } from '../../src/infra/metadata/test-database.testkit.js';
import { S3ObjectStore } from '../../src/infra/object-store/s3.object-store.js';
import { wipePrefix } from './redis.js';

export interface ServiceUrls {
  redisUrl: string;
  databaseUrl: string;
  brokers: string;
  s3Endpoint: string;
}

export interface ServicesProfile {
  /** The variables that point Tally's processes (and the CLI) at this run's share of the services. */
  env: Record<string, string>;
  /** This run's prefix of the bucket. */
  store: S3ObjectStore;
  metaDb: Awaited<ReturnType<typeof createTestDatabase>>;
  warehouseDb: Awaited<ReturnType<typeof createTestDatabase>>;
  queuePrefix: string;
  /** Removes the topics, the Redis keys, the S3 objects and both databases. */
  tearDown(): Promise<void>;
}

/**
 * The services profile for one e2e run: a fresh PostgreSQL database for metadata and one for the
 * warehouse, two Kafka topics of `partitions` partitions, an S3 prefix and a Redis key prefix,
 * all named after a random id so runs never meet.
 */
export async function servicesProfile(name: string, urls: ServiceUrls, opts: { partitions: number }): Promise<ServicesProfile> {
  const id = randomBytes(6).toString('hex');
  const topics = { raw: `tally-test-${id}.raw-events`, dead: `tally-test-${id}.dead-letter` };
  const queuePrefix = `tally-test-${id}`;
  const s3Prefix = `test/${name}/${id}`;
  const s3 = {
    bucket: process.env.S3_BUCKET ?? 'tally',
    region: process.env.S3_REGION ?? 'us-east-1',
    endpoint: urls.s3Endpoint,
    forcePathStyle: process.env.S3_FORCE_PATH_STYLE !== 'false',
  };
  const kafka = new Kafka({ clientId: `tally-test-${id}`, brokers: urls.brokers.split(','), logLevel: logLevel.NOTHING });
  const metaDb = await createTestDatabase(urls.databaseUrl, name);
  const warehouseDb = await createTestDatabase(urls.databaseUrl, `${name}_wh`);
  const ka = kafka.admin();
  await ka.connect();
  // kafkajs' waitForLeaders gives up on a fresh KRaft broker: wait as the event log does
  await ka.createTopics({
    waitForLeaders: false,
    topics: [
      { topic: topics.raw, numPartitions: opts.partitions },
      { topic: topics.dead, numPartitions: opts.partitions },
    ],
  });
  await waitForTopics(ka, [topics.raw, topics.dead], { created: true });
  await ka.disconnect();
  const store = new S3ObjectStore({ ...s3, prefix: s3Prefix });
  return {
    env: {
      DATABASE_URL: metaDb.url,
      TALLY_WAREHOUSE: 'postgres',
      WAREHOUSE_URL: warehouseDb.url,
      TALLY_EVENT_LOG: 'kafka',
      KAFKA_BROKERS: urls.brokers,
      KAFKA_TOPIC_RAW: topics.raw,
      KAFKA_TOPIC_DEAD_LETTER: topics.dead,
      TALLY_LOG_PARTITIONS: String(opts.partitions),
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_PREFIX: s3Prefix,
      S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
      REDIS_URL: urls.redisUrl,
      TALLY_QUEUE_PREFIX: queuePrefix,
      TALLY_COUNTERS_PREFIX: `${queuePrefix}:counters`,
    },
    store,
    metaDb,
    warehouseDb,
    queuePrefix,
    async tearDown() {
      const redis = new Redis(urls.redisUrl);
      await wipePrefix(redis, queuePrefix);
      await redis.quit();
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topics.raw, topics.dead] }).catch(() => undefined);
      await admin.disconnect();
      await store.delete((await store.list('')).map((o) => o.key));
      await store.close();
      await metaDb.drop();
      await warehouseDb.drop();
    },
  };
}
