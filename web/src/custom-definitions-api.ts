/**
 * The console's calls for Settings › Custom definitions (src/tenancy/custom-definitions.routes.ts)
 * and the pure helpers of that tab: API names, grouping, and the text of each refusal by its reason.
 */
import { api, ApiError, request } from './api';

export type DefinitionKind = 'dimension' | 'metric';
export type DefinitionScope = 'EVENT' | 'USER';

export interface CustomDefinition {
  id: string;
  kind: DefinitionKind;
  scope: DefinitionScope;
  parameterName: string;
  displayName: string;
  description: string;
  measurementUnit: string | null;
  createdAt: string;
  archived: boolean;
}

export interface NewDefinition {
  kind: DefinitionKind;
  scope: DefinitionScope;
  parameterName: string;
  displayName: string;
  description?: string;
  measurementUnit?: string;
}

const base = (propertyId: string) => `/api/properties/${encodeURIComponent(propertyId)}/custom-definitions`;

export const customDefinitionsApi = {
  list: async (propertyId: string) => (await api.get<{ customDefinitions: CustomDefinition[] }>(base(propertyId))).customDefinitions,
  create: async (propertyId: string, d: NewDefinition) => (await api.post<{ customDefinition: CustomDefinition }>(base(propertyId), d)).customDefinition,
  update: async (propertyId: string, id: string, patch: { displayName?: string; description?: string }) =>
    (await api.patch<{ customDefinition: CustomDefinition }>(`${base(propertyId)}/${encodeURIComponent(id)}`, patch)).customDefinition,
  archive: async (propertyId: string, id: string) =>
    (await api.post<{ customDefinition: CustomDefinition }>(`${base(propertyId)}/${encodeURIComponent(id)}/archive`)).customDefinition,
  /** The top values of a custom dimension over the last 28 days, through the public GA4 Data API. */
  preview: async (propertyId: string, d: Pick<CustomDefinition, 'kind' | 'scope' | 'parameterName'>) => {
    const field = { name: apiName(d) };
    const body =
      d.kind === 'dimension'
        ? { dateRanges: [{ startDate: '27daysAgo', endDate: 'today' }], dimensions: [field], metrics: [{ name: 'eventCount' }], limit: 10 }
        : { dateRanges: [{ startDate: '27daysAgo', endDate: 'today' }], dimensions: [{ name: 'eventName' }], metrics: [field], limit: 10 };
    const r = await request<{ rows?: { dimensionValues: { value: string }[]; metricValues: { value: string }[] }[] }>(
      'POST',
      `/v1beta/properties/${encodeURIComponent(propertyId)}:runReport`,
      body,
    );
    return (r.rows ?? []).map((row) => ({ value: row.dimensionValues[0]?.value ?? '', count: Number(row.metricValues[0]?.value ?? 0) }));
  },
};

/** The name reports use: `customEvent:NAME` or `customUser:NAME` (src/domain/custom-definition.ts). */
export function apiName(d: Pick<CustomDefinition, 'scope' | 'parameterName'>): string {
  return `${d.scope === 'USER' ? 'customUser' : 'customEvent'}:${d.parameterName}`;
}

export const SCOPE_LABEL: Record<DefinitionScope, string> = { EVENT: 'Event', USER: 'User' };
export const MEASUREMENT_UNITS = ['STANDARD', 'CURRENCY', 'FEET', 'METERS', 'KILOMETERS', 'MILES', 'MILLISECONDS', 'SECONDS', 'MINUTES', 'HOURS'];

/** Active definitions by kind (dimensions, then metrics), each by scope then display name; archived ones apart. */
export function groupDefinitions(all: readonly CustomDefinition[]): {
  dimensions: CustomDefinition[];
  metrics: CustomDefinition[];
  archived: CustomDefinition[];
} {
  const order = (a: CustomDefinition, b: CustomDefinition) => a.scope.localeCompare(b.scope) || a.displayName.localeCompare(b.displayName);
  const active = all.filter((d) => !d.archived);
  return {
    dimensions: active.filter((d) => d.kind === 'dimension').sort(order),
    metrics: active.filter((d) => d.kind === 'metric').sort(order),
    archived: all.filter((d) => d.archived).sort(order),
  };
}

/** What a refusal means to the person in front of the form, chosen by the API's machine-readable reason. */
export function definitionErrorText(err: unknown): string | null {
  if (!err) return null;
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  switch (err.reason) {
    case 'custom_definition_exists':
      return 'This parameter already has an active definition of that kind and scope. Edit that one, or archive it first.';
    case 'invalid_body':
      return 'Some fields need a change (see below).';
    case 'custom_definition_limit':
      return `${err.message} Archive one you no longer use to make room.`;
    case 'metric_scope':
      return 'Custom metrics are event-scoped: choose the Event scope.';
    case 'archived':
      return 'This definition is archived: it cannot change any more. Create a new one instead.';
    case 'custom_definition_not_found':
      return 'This definition no longer exists (someone else may have removed it). Reload the list.';
    case 'role':
      return 'Your role can read custom definitions but not change them: ask an editor, admin or owner.';
    default:
      return err.message;
  }
}
