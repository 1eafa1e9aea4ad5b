// Exit 0 when the broker at argv[2] answers a metadata request (kafkajs from the repo's node_modules).
import { Kafka, logLevel } from 'kafkajs';

const broker = process.argv[2] ?? '127.0.0.1:59092';
const kafka = new Kafka({
  clientId: 'tally-services-ready',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  requestTimeout: 3000,
  retry: { retries: 0 },
});
const admin = kafka.admin();
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0 || cluster.controller === null) process.exit(1);
  await admin.listTopics();
  process.exit(0);
} catch {
  process.exit(1);
} finally {
  await admin.disconnect().catch(() => {});
}
