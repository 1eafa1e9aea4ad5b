import type { Admin } from 'kafkajs';
import { TallyError } from '../errors.js';

/** Kafka topics and groups as the event log uses them, and its errors (`kafka.event-log.ts`). */

/** Consumer group id of (group, topic): one Kafka group per logical group and output. */
export function kafkaGroupId(group: string, topic: string): string {
  return `${group}.${topic}`;
}

/**
 * kafkajs does not retry some admin reads on retriable broker answers (a partition whose leader is
 * moving or still starting); these are retried here for up to `withinMs`. A KRaft broker that has
 * just created topics can answer LEADER_NOT_AVAILABLE for several seconds on a loaded machine, so
 * the bound is time, not a count of attempts.
 */
export async function retryRetriable<T>(fn: () => Promise<T>, withinMs = 20_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline || !isRetriable(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** i, 1_000)));
    }
  }
}

/** Retriable, or kafkajs' own retries ran out on a retriable answer (the cause says which). */
function isRetriable(err: unknown): boolean {
  const e = err as { retriable?: boolean; name?: string; cause?: unknown };
  if (e?.retriable === true) return true;
  return e?.name === 'KafkaJSNumberOfRetriesExceeded' && (e.cause as { retriable?: boolean } | undefined)?.retriable === true;
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
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    let why: unknown;
    try {
      const meta = await admin.fetchTopicMetadata({ topics });
      if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return meta;
      why = new Error('a partition has no leader yet');
    } catch (err) {
      const unknown = (err as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION';
      if (unknown && !opts.created) {
        throw new TallyError('unavailable', `Kafka topics ${topics.join(', ')} do not all exist`, { topics }, { cause: err });
      }
      // a leader election (LEADER_NOT_AVAILABLE) and the like pass: wait for them within the bound
      if (!unknown && !isRetriable(err)) throw err;
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
