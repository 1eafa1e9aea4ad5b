import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { IngestRoute } from '../ingest/ingest-http.js';
import { ingestApi } from '../ingest/ingest.api.js';
import { REPORT_API } from '../query/report.api.js';
import { REPORT_METHODS_API } from '../query/report-methods.api.js';
import { FUNNEL_API } from '../query/funnel.api.js';
import { SQL_API } from '../query/sql/sql.api.js';
import { MANAGEMENT_API } from '../tenancy/management.api.js';
import { OPERATIONS_API } from './health.api.js';
import { accountsOpenApiPaths, SESSION_SECURITY_SCHEME } from '../tenancy/accounts.openapi.js';
import { lifecycleRoutes } from '../lifecycle/lifecycle.routes.js';
import { BILLING_API } from '../billing/billing.api.js';
import { billingRoutes } from '../billing/billing.routes.js';
import { supportApiRoutes } from './support.module.js';

/**
 * The OpenAPI 3.1 document of every HTTP route Tally serves, generated from the zod schemas the
 * routes are declared with (@asteasolutions/zod-to-openapi). A feature with routes exports a
 * `RouteConfig[]` beside its router and adds one line to API below.
 */
const API = (ingestRoutes: IngestRoute[]): RouteConfig[][] => [
  ingestApi(ingestRoutes),
  REPORT_API,
  REPORT_METHODS_API,
  FUNNEL_API,
  SQL_API,
  MANAGEMENT_API,
  OPERATIONS_API,
  BILLING_API,
];

let cached: { routes: IngestRoute[]; doc: Record<string, unknown> } | null = null;

export function openApiDocument(ingestRoutes: IngestRoute[]): Record<string, unknown> {
  if (cached?.routes === ingestRoutes) return cached.doc;
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'ingestKey', { type: 'http', scheme: 'bearer', description: 'An ingest key (tk_ing_…)' });
  registry.registerComponent('securitySchemes', 'readKey', { type: 'http', scheme: 'bearer', description: 'A read key (tk_read_…)' });
  registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'The local operator token in $TALLY_DATA_DIR/admin-token',
  });
  for (const routes of API(ingestRoutes)) for (const r of routes) registry.registerPath(r);
  const doc = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Tally', version: '0.1.0', description: 'Multi-tenant, GA4-compatible analytics: ingest, reports, operations.' },
  }) as unknown as { paths: Record<string, Record<string, { security?: unknown[] }>>; components: { securitySchemes: Record<string, unknown> } };
  // the accounts API documents its route table itself (its body schemas are zod too)
  Object.assign(doc.paths, accountsOpenApiPaths([...supportApiRoutes(null), ...billingRoutes(null), ...lifecycleRoutes(null)]));
  doc.components.securitySchemes.session = SESSION_SECURITY_SCHEME;
  // the report routes also take a member's session (plus X-CSRF-Token on POST)
  for (const [p, item] of Object.entries(doc.paths))
    if (p.startsWith('/v1beta/') || p.startsWith('/v1alpha/')) for (const op of Object.values(item)) op.security = [{ readKey: [] }, { session: [] }];
  cached = { routes: ingestRoutes, doc: doc as unknown as Record<string, unknown> };
  return cached.doc;
}
