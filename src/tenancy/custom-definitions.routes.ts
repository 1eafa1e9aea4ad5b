import { z } from 'zod';
import { PARAMETER_NAME } from '../domain/custom-definition.js';
import type { ApiRoute } from './api-route.types.js';
import { archiveCustomDefinition, createCustomDefinition, listCustomDefinitions, updateCustomDefinition } from './custom-definitions.repository.js';

/**
 * The management API of custom definitions (issue 14), a part of the accounts route table: read
 * with `properties.read`, changed with `properties.update`, always through the property wall.
 */
const displayName = z
  .string()
  .trim()
  .min(1)
  .max(82)
  .regex(/^[A-Za-z][A-Za-z0-9_ ]*$/, 'a letter, then letters, digits, underscores or spaces (GA4 display names)');
const description = z.string().max(150);
const MEASUREMENT_UNITS = ['STANDARD', 'CURRENCY', 'FEET', 'METERS', 'KILOMETERS', 'MILES', 'MILLISECONDS', 'SECONDS', 'MINUTES', 'HOURS'] as const;

export const CustomDefinitionCreate = z.strictObject({
  kind: z.enum(['dimension', 'metric']),
  scope: z.enum(['EVENT', 'USER']),
  parameterName: z.string().regex(PARAMETER_NAME, 'a parameter name: a letter, then letters, digits or _ (at most 40)'),
  displayName,
  description: description.optional(),
  measurementUnit: z.enum(MEASUREMENT_UNITS).optional(),
});
export const CustomDefinitionPatch = z.strictObject({ displayName: displayName.optional(), description: description.optional() });

export const CUSTOM_DEFINITION_ROUTES: ApiRoute[] = [
  {
    method: 'get',
    path: '/api/properties/:propertyId/custom-definitions',
    access: 'properties.read',
    scope: 'property',
    summary: 'Custom dimensions and metrics of the property (customEvent:NAME, customUser:NAME), archived ones included.',
    handler: async ({ params, deps }) => ({ customDefinitions: await listCustomDefinitions(deps.service.db, params.propertyId) }),
  },
  {
    method: 'post',
    path: '/api/properties/:propertyId/custom-definitions',
    access: 'properties.update',
    scope: 'property',
    status: 201,
    body: CustomDefinitionCreate,
    summary: 'Register a custom dimension (event or user scope) or an event-scoped custom metric; reports use it at once, over past data too.',
    handler: async ({ params, deps, actor, body }) => ({ customDefinition: await createCustomDefinition(deps.service.db, actor, params.propertyId, body) }),
  },
  {
    method: 'patch',
    path: '/api/properties/:propertyId/custom-definitions/:definitionId',
    access: 'properties.update',
    scope: 'property',
    body: CustomDefinitionPatch,
    summary: 'Change the display name or description of a custom definition.',
    handler: async ({ params, deps, actor, body }) => ({
      customDefinition: await updateCustomDefinition(deps.service.db, actor, params.propertyId, params.definitionId, body),
    }),
  },
  {
    method: 'post',
    path: '/api/properties/:propertyId/custom-definitions/:definitionId/archive',
    access: 'properties.update',
    scope: 'property',
    summary: 'Archive a custom definition: reports and metadata stop offering it.',
    handler: async ({ params, deps, actor }) => ({
      customDefinition: await archiveCustomDefinition(deps.service.db, actor, params.propertyId, params.definitionId),
    }),
  },
];
