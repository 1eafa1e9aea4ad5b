import { logLevel as KafkaLogLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../logger.js';

/** kafkajs' log lines into Tally's logger, at the levels the logger has enabled (`kafka.event-log.ts`). */

export function kafkaLevelOf(logger: Logger | undefined): KafkaLogLevel {
  if (!logger) return KafkaLogLevel.NOTHING;
  if (logger.isLevelEnabled('debug')) return KafkaLogLevel.DEBUG;
  if (logger.isLevelEnabled('info')) return KafkaLogLevel.INFO;
  if (logger.isLevelEnabled('warn')) return KafkaLogLevel.WARN;
  if (logger.isLevelEnabled('error')) return KafkaLogLevel.ERROR;
  return KafkaLogLevel.NOTHING;
}

export function logEntry(logger: Logger | undefined, { namespace, level, log }: LogEntry): void {
  if (!logger) return;
  const { message, timestamp: _ts, logger: _name, ...extra } = log as { message: string; timestamp?: string; logger?: string };
  const fields = { namespace, ...extra };
  // Bounded retries are deliberate here: a failed request replaces the producer (see the class comment).
  if (message.startsWith('Limiting retries for the idempotent producer')) return logger.debug(fields, message);
  // kafkajs logs any per-topic answer to CreateTopics as an error ("Topic creation errors"), also
  // "already exists" when two processes start together; a real failure is thrown by createTopics
  // and reported by open() with its cause
  if (message.startsWith('Response CreateTopics')) return logger.debug(fields, message);
  switch (level) {
    case KafkaLogLevel.ERROR:
      return logger.error(fields, message);
    case KafkaLogLevel.WARN:
      return logger.warn(fields, message);
    case KafkaLogLevel.INFO:
      return logger.info(fields, message);
    default:
      return logger.debug(fields, message);
  }
}
