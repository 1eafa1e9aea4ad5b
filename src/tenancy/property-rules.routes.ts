import type { ApiRoute } from './accounts.routes.js';
import { getRules, PropertyRulesPatch, updateRules } from './property-rules.js';

/**
 * The retroactive rules' routes (`property-rules.ts`), in the accounts route table: read with
 * `properties.read`, changed with `properties.update` (editors and up), audited. A change answers
 * with `replaySuggestion`: the range the console offers to replay, dry run first.
 */
export const PROPERTY_RULES_ROUTES: ApiRoute[] = [
  {
    method: 'get',
    path: '/api/properties/:propertyId/rules',
    access: 'properties.read',
    scope: 'property',
    summary:
      "The property's retroactive rules (internal-traffic rules and filter, extra bot patterns, own channel group or null for GA4's default) and the default channel group's rules as data.",
    handler: async ({ params, deps }) => getRules(deps.service.db, params.propertyId),
  },
  {
    method: 'patch',
    path: '/api/properties/:propertyId/rules',
    access: 'properties.update',
    scope: 'property',
    body: PropertyRulesPatch,
    summary:
      "Change retroactive rules (any of internalTraffic, botPatterns, channelRules; channelRules null = the default group). New events follow them within seconds; past events on a replay: the answer's replaySuggestion {from, to, dryRun: true} is the range to replay (POST /api/support/replays). 400 invalid_rule names the field path of an unusable CIDR, pattern or rule.",
    handler: async (ctx) => {
      const result = await updateRules(ctx.deps.service.db, ctx.actor, ctx.params.propertyId, ctx.body);
      ctx.deps.onCredentialsChanged?.();
      return result;
    },
  },
];
