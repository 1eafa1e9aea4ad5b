import type { Admin } from 'kafkajs';
import { TallyError } from '../errors.js';

/** Kafka topics and groups as the event log uses them, and its errors (`kafka.event-log.ts`). */

/** Consumer group id of (group, topic): one Kafka group per logical group and output. */
export function kafkaGroupId(group: string, topic: string): string {
  return `${group}.${topic}`;
}

/**
 * kafkajs does not retry some admin reads on retriable broker answers (a partition whose leader is
 * moving or still starting); these are retried briefly here.
 */
export async function retryRetriable<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || (err as { retriable?: boolean }).retriable !== true) throw err;
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** i, 1_000)));
    }
  }
}

/**
 * The topics' metadata once every partition has a leader. Right after createTopics a KRaft broker
 * answers UNKNOWN_TOPIC_OR_PARTITION until the new topics' metadata reaches it, so topics we
 * `created` get a bounded wait; topics we did not create must exist now.
 */
export async function waitForTopics(
  admin: Admin,
  topics: string[],
  opts: { created: boolean; timeoutMs?: number },
): Promise<Awaited<ReturnType<Admin['fetchTopicMetadata']>>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    let why: unknown;
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return meta;
      why = new Error('a partition has no leader yet');
    } catch (err) {
      if ((err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
      if (!opts.created) throw new TallyError('unavailable', `Kafka topics ${topics.join(', ')} do not all exist`, { topics }, { cause: err });
      why = err;
    }
    if (Date.now() >= deadline) {
      throw new TallyError(
        'unavailable',
        `Kafka topics ${topics.join(', ')} are not all ready (created, with a leader for every partition)`,
        { topics },
        { cause: why },
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function unavailable(message: string, cause: unknown): TallyError {
  if (cause instanceof TallyError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new TallyError('unavailable', `${message}: ${detail}`, {}, { cause });
}
