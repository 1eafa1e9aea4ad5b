import { isAllowedHostnamePattern } from '../domain/allowed-hostnames.js';
import { z } from 'zod';
import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { ErrorBodySchema } from '../infra/errors.js';
import type { CreatedTenant } from './tenant.repository.js';

/** The operator routes' bodies: management.router.ts validates with these, /openapi.json shows them. */
export const CreateTenantSchema = z
  .strictObject({
    name: z.string().min(1).max(200),
    email: z.string().email(),
    domain: z.string().min(1).max(253),
    timeZone: z.string().optional().meta({ description: 'IANA time zone of the property (default UTC)' }),
    planId: z.enum(['free', 'growth', 'scale']).optional(),
    allowedHostnames: z
      .array(z.string().min(1).max(253).refine(isAllowedHostnamePattern, 'a host name, or *. and a domain'))
      .max(100)
      .optional()
      .meta({ description: 'Hosts whose browser hits count (default: the domain and its subdomains); `*.example.com` for subdomains' }),
  })
  .meta({ id: 'CreateTenantRequest' });

export const CreatedTenantSchema = z
  .strictObject({
    organizationId: z.string(),
    propertyId: z.string(),
    measurementId: z.string(),
    siteId: z.string().meta({ description: 'Random public id for Snowplow `aid` / Umami `website` (never the numeric property id)' }),
    apiSecret: z.string(),
    ingestKey: z.string(),
    readKey: z.string(),
  })
  .meta({ id: 'CreatedTenant', description: 'Keys and secrets are shown once; only their hashes are stored' });

export const RunJobSchema = z
  .strictObject({
    name: z.string().min(1),
    propertyId: z.string().regex(/^\d+$/).optional(),
    full: z.boolean().optional(),
    /** A lifecycle job's options (delete-user, import-file, export-file): ids, reason, file, dates, format. */
    options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    // the support jobs' fields (replay, dead-letters, redrive, inspect: `tally replay|dead-letters|inspect`)
    clientId: z.string().min(1).optional(),
    userId: z.string().min(1).optional(),
    from: z.string().optional(),
    to: z.string().optional(),
    since: z.string().optional(),
    until: z.string().optional(),
    reason: z.string().optional(),
    note: z.string().optional(),
    dryRun: z.boolean().optional(),
  })
  .meta({ id: 'RunJobRequest' });

/** One line of the job run's NDJSON stream. */
export const JobRunLineSchema = z
  .union([
    z.strictObject({ progress: z.tuple([z.number(), z.number()]).rest(z.string().nullable()).meta({ description: '[done, total, unit?]' }) }),
    z.strictObject({ result: z.unknown() }),
    ErrorBodySchema,
  ])
  .meta({ id: 'JobRunLine' });

const CREATED_MATCHES_REPOSITORY: z.infer<typeof CreatedTenantSchema> extends CreatedTenant
  ? CreatedTenant extends z.infer<typeof CreatedTenantSchema>
    ? true
    : false
  : false = true;
void CREATED_MATCHES_REPOSITORY;

const error = (description: string): ResponseConfig => ({ description, content: { 'application/json': { schema: ErrorBodySchema } } });
// served only on the loopback admin listener of the process holding the data dir (its port is
// `adminPort` in $TALLY_DATA_DIR/server.json), never on the public port
const common = {
  tags: ['operator'],
  security: [{ adminToken: [] }],
  description: 'Loopback admin listener only (`adminPort` in `$TALLY_DATA_DIR/server.json`).',
};
const organizationId = z.object({ id: z.string().meta({ description: 'organisation id' }) });
const json = (description: string): ResponseConfig => ({ description, content: { 'application/json': { schema: z.looseObject({}) } } });

export const MANAGEMENT_API: RouteConfig[] = [
  {
    ...common,
    method: 'post',
    path: '/internal/v1/tenants',
    summary: 'Create an organisation, owner, property and keys',
    request: { body: { required: true, content: { 'application/json': { schema: CreateTenantSchema } } } },
    responses: {
      201: { description: 'Created', content: { 'application/json': { schema: CreatedTenantSchema } } },
      400: error('Invalid body (reason invalid_body)'),
      401: error('No or wrong admin token'),
    },
  },
  {
    ...common,
    method: 'post',
    path: '/internal/v1/jobs/run',
    summary: 'Run a job now (transform | load | pipeline): NDJSON progress lines, then the result or the error',
    request: { body: { required: true, content: { 'application/json': { schema: RunJobSchema } } } },
    responses: {
      200: { description: 'One JSON object per line', content: { 'application/x-ndjson': { schema: JobRunLineSchema } } },
      400: error('Invalid body'),
      401: error('No or wrong admin token'),
      503: error('This process runs no worker role'),
    },
  },
  {
    ...common,
    method: 'get',
    path: '/internal/v1/tenants',
    summary: 'Every tenant with its plan and number of properties',
    responses: {
      200: { description: 'Tenants', content: { 'application/json': { schema: z.array(z.looseObject({})) } } },
      401: error('No or wrong admin token'),
    },
  },
  {
    ...common,
    method: 'get',
    path: '/internal/v1/tenants/{id}',
    summary: 'One tenant: plan, owners, properties, key prefixes',
    request: { params: organizationId },
    responses: { 200: json('Tenant'), 401: error('No or wrong admin token'), 404: error('No such tenant') },
  },
  {
    ...common,
    method: 'put',
    path: '/internal/v1/tenants/{id}/plan',
    summary: "Change a tenant's plan",
    request: { params: organizationId, body: { required: true, content: { 'application/json': { schema: z.strictObject({ planId: z.string().min(1) }) } } } },
    responses: {
      200: json('The tenant on its new plan'),
      400: error('Invalid body or unknown plan'),
      401: error('No or wrong admin token'),
      404: error('No such tenant'),
    },
  },
  {
    ...common,
    method: 'delete',
    path: '/internal/v1/tenants/{id}',
    summary: "Delete a tenant's organisation, properties, keys and pipeline bookkeeping, and queue the erasure of its properties' data (purge-property)",
    request: { params: organizationId },
    responses: {
      200: json('What was deleted: organizationId, properties (a count), propertyIds (whose purge is queued)'),
      401: error('No or wrong admin token'),
      404: error('No such tenant'),
    },
  },
  {
    ...common,
    method: 'post',
    path: '/internal/v1/ops/{command}',
    summary: 'A user, organisation or key command of the CLI (users.create, orgs.list, keys.list|create|revoke|rotate)',
    request: { params: z.object({ command: z.string() }), body: { required: true, content: { 'application/json': { schema: z.looseObject({}) } } } },
    responses: { 200: json('The command result'), 401: error('No or wrong admin token'), 404: error('No such command or object'), 422: error('Invalid input') },
  },
];
