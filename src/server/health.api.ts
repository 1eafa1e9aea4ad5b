import { z } from 'zod';
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';

const roles = z.array(z.enum(['collector', 'api', 'worker', 'scheduler']));
export const HealthSchema = z.strictObject({ status: z.literal('ok'), roles }).meta({ id: 'Health' });
export const ReadinessSchema = z
  .strictObject({
    status: z.enum(['ready', 'not_ready', 'draining']),
    checks: z.record(z.string(), z.strictObject({ ok: z.boolean(), ms: z.number(), error: z.string().optional() })),
    error: z.string().optional(),
  })
  .meta({
    id: 'Readiness',
    description: 'Per check (metadata, eventLog, warehouse, objectStore, jobQueue: those of the process roles) whether it answered, in how long',
  });

const common = { tags: ['operations'], security: [] };
const readiness = { 'application/json': { schema: ReadinessSchema } };

/** /healthz, /readyz, /metrics and /openapi.json: on every listener, and on TALLY_HEALTH_PORT (not /openapi.json). */
export const OPERATIONS_API: RouteConfig[] = [
  {
    ...common,
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process answers',
    responses: { 200: { description: 'Up', content: { 'application/json': { schema: HealthSchema } } } },
  },
  {
    ...common,
    method: 'get',
    path: '/readyz',
    summary: "Readiness: every dependency of the process's roles answers within 2 s (results shared for 1 s)",
    responses: { 200: { description: 'Ready', content: readiness }, 503: { description: 'A check failed, or the process is draining', content: readiness } },
  },
  {
    ...common,
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: z.string() } } } },
  },
  {
    ...common,
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
  },
];
