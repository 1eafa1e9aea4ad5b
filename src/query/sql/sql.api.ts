import { z } from 'zod';
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { ErrorBodySchema } from '../../infra/errors.js';

/** `POST /v1/sql`: the request the router validates with, and the answers it gives. */
export const SqlRequestSchema = z
  .strictObject({
    query: z
      .string()
      .min(1)
      .max(100_000)
      .meta({ description: 'One SELECT over the views events, sessions, identities (and items where the warehouse has it).' }),
    propertyId: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "The property to read; a read key's own property when omitted (required with a session cookie)." }),
    maxRows: z.number().int().positive().optional().meta({ description: 'Rows returned at most; capped by TALLY_SQL_MAX_ROWS.' }),
  })
  .meta({ id: 'SqlRequest' });

export const SqlResponseSchema = z
  .strictObject({
    columns: z.array(z.strictObject({ name: z.string(), type: z.string() })),
    rows: z.array(z.array(z.unknown())).meta({ description: 'Each row an array in column order; BIGINT beyond 2^53 as a decimal string.' }),
    rowCount: z.number().int(),
    truncated: z.boolean().meta({ description: 'More rows matched than were returned (maxRows).' }),
    propertyId: z.string(),
  })
  .meta({ id: 'SqlResponse' });

const error = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBodySchema } } });

export const SQL_API: RouteConfig[] = [
  {
    method: 'post',
    path: '/v1/sql',
    summary: "Run one read-only SELECT over the caller's property",
    description:
      'Answers JSON rows by default, CSV with `Accept: text/csv`, an Arrow IPC stream with `Accept: application/vnd.apache.arrow.stream`. ' +
      'The statement is parsed and refused unless it is a single SELECT over the views, calling allowed functions only.',
    security: [{ readKey: [] }, { session: [] }],
    request: { body: { content: { 'application/json': { schema: SqlRequestSchema } } } },
    responses: {
      200: {
        description: 'The rows',
        content: {
          'application/json': { schema: SqlResponseSchema },
          'text/csv': { schema: z.string() },
          'application/vnd.apache.arrow.stream': { schema: z.string().meta({ format: 'binary' }) },
        },
      },
      400: error('Not a single allowed SELECT (reason sql_*), or the statement failed (sql_error)'),
      401: error('No or unknown read key'),
      403: error("The key's property is not the one asked for"),
      429: error('Too many statements for this key or tenant'),
      501: error('This warehouse has no SQL sandbox (Redshift)'),
      504: error('The statement ran past TALLY_SQL_TIMEOUT_MS'),
    },
  },
];
