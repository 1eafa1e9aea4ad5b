import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; secrets redacted wherever they may appear. */
export function createLogger(level: string, name = 'tally'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['*.apiSecret', '*.ingestKey', '*.readKey', '*.api_secret', '*.authorization', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
}
