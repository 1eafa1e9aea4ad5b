import { z } from 'zod';
import { API_ROUTES, type ApiRoute } from './accounts.routes.js';

const errorBody = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'reason', 'message'],
      properties: {
        code: { type: 'string' },
        reason: { type: 'string' },
        message: { type: 'string' },
        fields: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
  },
};
const err = (description: string) => ({ description, content: { 'application/json': { schema: errorBody } } });

/** OpenAPI path items of the management API, generated from its route table (one source). */
export function accountsOpenApiPaths(extra: readonly ApiRoute[] = []): Record<string, Record<string, unknown>> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of [...API_ROUTES, ...extra]) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const params = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const status = String(r.status ?? 200);
    paths[path] ??= {};
    paths[path][r.method] = {
      tags: [r.path.startsWith('/api/support/') || r.path.includes('/dead-letters') ? 'support' : r.path.includes('/billing') ? 'billing' : 'management'],
      summary: r.summary,
      description: `Needs: ${r.access}${r.access === 'public' ? '' : ' (session cookie; X-CSRF-Token on state-changing requests)'}.`,
      security: r.access === 'public' ? [] : [{ session: [] }],
      parameters: params,
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(r.body, { io: 'input', unrepresentable: 'any' }) } } } }
        : {}),
      responses: {
        [status]: {
          description: status === '204' ? 'Done' : 'OK',
          ...(status === '204' ? {} : { content: { 'application/json': { schema: { type: 'object' } } } }),
        },
        '400': err('Malformed JSON'),
        '401': err('Not signed in, or wrong e-mail/password'),
        '403': err('Role does not allow it, missing X-CSRF-Token, or unverified e-mail'),
        '404': err("Not found (also another organisation's objects)"),
        '409': err('Conflict (taken e-mail, last owner, billing off)'),
        '413': err('Body over 64 KB'),
        '422': err('Invalid fields: error.fields has a message per field'),
        '429': err('Too many failed logins; see Retry-After'),
      },
    };
  }
  return paths;
}

export const SESSION_SECURITY_SCHEME = {
  type: 'apiKey',
  in: 'cookie',
  name: 'tally.sid',
  description:
    'Session cookie from POST /api/auth/login or /api/auth/signup (HttpOnly, SameSite=Lax). State-changing requests also need X-CSRF-Token from GET /api/auth/csrf.',
};
