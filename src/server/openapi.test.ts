import { describe, expect, it } from 'vitest';
import { openApiDocument } from './openapi.js';
import { INGEST_DOCS } from '../ingest/ingest.api.js';
import { PROTOCOL_ROUTES } from '../ingest/protocol-routes.js';
import { API_ROUTES } from '../tenancy/accounts.routes.js';

describe('OpenAPI document', () => {
  it('documents every ingest route with its methods', () => {
    const doc = openApiDocument(PROTOCOL_ROUTES) as { paths: Record<string, Record<string, unknown>> };
    for (const r of PROTOCOL_ROUTES) {
      expect(INGEST_DOCS[r.path], `no OpenAPI entry for ${r.path}`).toBeDefined();
      for (const m of r.methods) expect(doc.paths[r.path][m.toLowerCase()], `${m} ${r.path}`).toBeDefined();
    }
  });

  it('documents the report and operator APIs', () => {
    const doc = openApiDocument(PROTOCOL_ROUTES) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    for (const p of [
      '/v1beta/properties/{propertyId}:runReport',
      '/v1beta/properties/{propertyId}/metadata',
      '/internal/v1/tenants',
      '/internal/v1/jobs/run',
    ]) {
      expect(doc.paths[p], p).toBeDefined();
    }
  });

  it('generates request and response schemas from the zod schemas, shared as components', () => {
    const doc = openApiDocument(PROTOCOL_ROUTES) as any;
    const runReport = doc.paths['/v1beta/properties/{propertyId}:runReport'].post;
    expect(runReport.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/RunReportRequest' });
    expect(runReport.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/RunReportResponse' });
    expect(doc.paths['/internal/v1/tenants'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CreateTenantRequest' });
    // the operator body is the very schema the router validates with: its limits show
    expect(doc.components.schemas.CreateTenantRequest.properties.name).toMatchObject({ type: 'string', minLength: 1, maxLength: 200 });
    expect(doc.components.schemas.CreateTenantRequest.additionalProperties).toBe(false);
    expect(doc.components.securitySchemes.readKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents every management API route with its method, body schema and the session scheme', () => {
    const doc = openApiDocument(PROTOCOL_ROUTES) as { paths: Record<string, Record<string, any>>; components: { securitySchemes: Record<string, unknown> } };
    expect(doc.components.securitySchemes.session).toBeDefined();
    for (const r of API_ROUTES) {
      const op = doc.paths[r.path.replace(/:(\w+)/g, '{$1}')]?.[r.method];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      if (r.body) expect(op.requestBody.content['application/json'].schema.type, r.path).toBe('object');
    }
    expect(doc.paths['/v1beta/properties/{propertyId}:runReport'].post.security).toEqual([{ readKey: [] }, { session: [] }]);
  });
});
