import type { NativeEvent, TrafficItem } from './traffic-generator.js';

export interface SendResult {
  sent: number;
  accepted: number;
  rejected: number;
  requests: number;
}

/**
 * Sends generated traffic to a collector's native endpoint in batches, a few requests in flight,
 * retrying 429/503 as a well-behaved SDK would. Throws on any other non-2xx.
 */
export async function sendTraffic(
  items: Iterable<TrafficItem>,
  opts: {
    baseUrl: string;
    ingestKey: string;
    batchSize?: number;
    concurrency?: number;
    filter?: (i: TrafficItem) => boolean;
    onProgress?: (sent: number) => void;
  },
): Promise<SendResult> {
  const batchSize = opts.batchSize ?? 250;
  const concurrency = opts.concurrency ?? 4;
  const result: SendResult = { sent: 0, accepted: 0, rejected: 0, requests: 0 };
  const inFlight = new Set<Promise<void>>();
  let batch: NativeEvent[] = [];

  const post = async (events: NativeEvent[]) => {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${opts.baseUrl}/v1/collect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.ingestKey}`, 'content-type': 'application/json', 'user-agent': 'tally-demo' },
        body: JSON.stringify({ events }),
      });
      const body = (await res.json().catch(() => ({}))) as { accepted?: number; rejected?: number; error?: { message?: string } };
      if ((res.status === 429 || res.status === 503) && attempt < 20) {
        const wait = Number(res.headers.get('retry-after') ?? '1') * 1000;
        await new Promise((r) => setTimeout(r, Math.min(wait, 2000)));
        continue;
      }
      if (!res.ok) throw new Error(`collector answered ${res.status}: ${body.error?.message ?? ''}`);
      result.requests++;
      result.accepted += body.accepted ?? 0;
      result.rejected += body.rejected ?? 0;
      result.sent += events.length;
      opts.onProgress?.(result.sent);
      return;
    }
  };

  const flush = async () => {
    if (!batch.length) return;
    const p = post(batch).finally(() => inFlight.delete(p));
    batch = [];
    inFlight.add(p);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  };

  for (const item of items) {
    if (opts.filter && !opts.filter(item)) continue;
    batch.push(item.event);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  await Promise.all(inFlight);
  return result;
}
