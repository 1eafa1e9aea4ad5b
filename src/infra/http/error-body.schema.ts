import { z } from 'zod';

/** Tally's own error body (ingest, operator and health endpoints): `{ error: { code, reason, message } }`. */
export const ErrorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().meta({ description: 'The TallyError code (invalid_argument, unauthenticated, rate_limited, …)' }),
      reason: z.string().meta({ description: 'Machine-readable reason, more specific than the code (key_missing, bad_key, too_many_events, …)' }),
      message: z.string(),
    }),
  })
  .meta({ id: 'Error' });
