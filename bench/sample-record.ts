import { randomUUID } from 'node:crypto';

/** One event-log record of a typical size, the value every log and Kafka client bench appends. */
export const SAMPLE_RECORD = Buffer.from(
  JSON.stringify({
    event_id: randomUUID(),
    name: 'page_view',
    url: 'https://shop.example.com/products/1',
    ua: 'Mozilla/5.0 '.repeat(12),
    params: { engagement_time_msec: 1200 },
  }),
);
