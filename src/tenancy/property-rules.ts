import { z } from 'zod';
import type { Db } from '../infra/metadata/db.js';
import { TallyError } from '../infra/errors.js';
import {
  CHANNEL_FALLBACK,
  CHANNEL_RULE_LIMITS,
  channelRulesProblem,
  DEFAULT_CHANNEL_RULES,
  type ChannelCondition,
  type ChannelRule,
} from '../domain/enrichment/channel-group.js';
import { BOT_PATTERN_LIMITS, botPatternProblem, type BotPattern } from '../domain/rules/bot-patterns.js';
import { INTERNAL_TRAFFIC_LIMITS, NO_INTERNAL_TRAFFIC, parseCidr, type InternalTrafficSettings } from '../domain/rules/internal-traffic.js';
import { addDays, localDate } from '../domain/time-zone.js';
import { appendAudit, type Actor } from './audit.repository.js';
import { notFound } from './tenancy.service.js';

/**
 * A property's retroactive rules (issue 13): internal-traffic rules and filter, extra bot patterns
 * and its own channel group. Stored on `properties` (JSON columns), loaded into the credential
 * cache with the other settings (`tenant.repository.ts`), read by the collector (internal traffic,
 * on the full IP) and by the transform (all three), so a replay of a past range applies them.
 */

export interface PropertyRules {
  internalTraffic: InternalTrafficSettings;
  botPatterns: BotPattern[];
  /** Null: GA4's default channel group. */
  channelRules: ChannelRule[] | null;
}

// ---- request schemas (shape; `rulesProblem` checks the rest and answers 400 invalid_rule) ----

const L = INTERNAL_TRAFFIC_LIMITS;
const token = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9 _.:-]+$/, 'letters, digits, space, _ . : -');

export const InternalTrafficSchema = z.strictObject({
  rules: z
    .array(
      z.strictObject({
        name: token(L.nameLength),
        trafficType: token(L.trafficTypeLength).default('internal'),
        cidrs: z.array(z.string().min(2).max(64)).min(1).max(L.cidrsPerRule),
      }),
    )
    .max(L.rules),
  filter: z.enum(['active', 'inactive']).default('active'),
});

export const BotPatternsSchema = z
  .array(z.strictObject({ match: z.enum(['contains', 'regex']), value: z.string().min(1).max(BOT_PATTERN_LIMITS.length) }))
  .max(BOT_PATTERN_LIMITS.count);

const field = z.enum(['source', 'medium', 'campaign']);
const text = z.string().max(CHANNEL_RULE_LIMITS.regexLength);
export const ChannelConditionSchema: z.ZodType<ChannelCondition> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(ChannelConditionSchema).min(1).max(50) }),
    z.strictObject({ any: z.array(ChannelConditionSchema).min(1).max(50) }),
    z.strictObject({ flag: z.literal('isAutoTaggedGoogleAds') }),
    z.strictObject({ field, in: z.array(text).min(1).max(CHANNEL_RULE_LIMITS.values) }),
    z.strictObject({ field, contains: text.min(1) }),
    z.strictObject({ field, endsWith: text.min(1) }),
    z.strictObject({ field, regex: text.min(1) }),
    z.strictObject({ field, category: z.enum(['search', 'social', 'shopping', 'video']) }),
  ]),
);
export const ChannelRulesSchema = z
  .array(z.strictObject({ channel: z.string().trim().min(1).max(CHANNEL_RULE_LIMITS.channelLength), when: ChannelConditionSchema }))
  .max(CHANNEL_RULE_LIMITS.rules);

export const PropertyRulesPatch = z
  .strictObject({
    internalTraffic: InternalTrafficSchema,
    botPatterns: BotPatternsSchema,
    channelRules: ChannelRulesSchema.nullable(),
  })
  .partial();
export type PropertyRulesPatch = z.infer<typeof PropertyRulesPatch>;

/** A well-formed rule that cannot be used: 400 `invalid_rule`, `fields` naming the field path and the problem (as a 422 does). */
function invalid(path: string, problem: string): TallyError {
  return new TallyError('invalid_argument', `${path}: ${problem}`, { reason: 'invalid_rule', fields: { [path]: problem } });
}

/** Throws 400 `invalid_rule` for the first unusable rule of a patch. */
export function assertUsableRules(patch: PropertyRulesPatch): void {
  const it = patch.internalTraffic;
  if (it) {
    const names = new Set<string>();
    it.rules.forEach((r, i) => {
      if (names.has(r.name.toLowerCase())) throw invalid(`internalTraffic.rules[${i}].name`, 'rule names are unique');
      names.add(r.name.toLowerCase());
      r.cidrs.forEach((c, j) => {
        if (parseCidr(c) === null)
          throw invalid(`internalTraffic.rules[${i}].cidrs[${j}]`, 'an IPv4 or IPv6 address or CIDR range (203.0.113.0/24, 2001:db8::/32)');
      });
    });
  }
  patch.botPatterns?.forEach((p, i) => {
    const problem = botPatternProblem(p);
    if (problem) throw invalid(`botPatterns[${i}].value`, problem);
  });
  if (patch.channelRules) {
    const p = channelRulesProblem(patch.channelRules);
    if (p) throw invalid(`channelRules${p.path.slice('rules'.length)}`, p.problem);
  }
}

const json = <T>(v: unknown, fallback: T): T => (v === null || v === undefined ? fallback : typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

/** The rules of a `properties` row (columns absent before the migration read as none). */
export function rulesOfRow(r: Record<string, any>): PropertyRules {
  return {
    internalTraffic: json(r.internal_traffic, NO_INTERNAL_TRAFFIC),
    botPatterns: json(r.bot_patterns, []),
    channelRules: json(r.channel_rules, null),
  };
}

/** What the console offers after a change: a dry-run replay of the last 30 closed days. */
export interface ReplaySuggestion {
  propertyId: string;
  from: string;
  to: string;
  dryRun: true;
  /** Where to send it (support.run: owners, admins, support staff). */
  endpoint: 'POST /api/support/replays';
}

export function replaySuggestion(propertyId: string, timeZone: string, now = Date.now()): ReplaySuggestion {
  const today = localDate(now, timeZone);
  return { propertyId, from: addDays(today, -30), to: addDays(today, -1), dryRun: true, endpoint: 'POST /api/support/replays' };
}

/** The rules and the defaults they start from (the default channel group as data). */
export async function getRules(db: Db, propertyId: string) {
  const row = await db('properties').where({ id: propertyId }).first();
  if (!row) throw notFound('property');
  return { rules: rulesOfRow(row), defaults: { channelRules: DEFAULT_CHANNEL_RULES, channelFallback: CHANNEL_FALLBACK } };
}

/** Changes some rules, audited (`property.rules.update`, before/after); answers with the replay to offer. */
export async function updateRules(db: Db, actor: Actor, propertyId: string, patch: PropertyRulesPatch, now = Date.now()) {
  assertUsableRules(patch);
  const cols: Record<string, unknown> = {};
  if (patch.internalTraffic !== undefined) cols.internal_traffic = JSON.stringify(patch.internalTraffic);
  if (patch.botPatterns !== undefined) cols.bot_patterns = JSON.stringify(patch.botPatterns);
  if (patch.channelRules !== undefined) cols.channel_rules = patch.channelRules === null ? null : JSON.stringify(patch.channelRules);
  const { rules, timeZone, changed } = await db.transaction(async (tx) => {
    const before = await tx('properties').where({ id: propertyId }).forUpdate().first();
    if (!before) throw notFound('property');
    if (!Object.keys(cols).length) return { rules: rulesOfRow(before), timeZone: before.time_zone as string, changed: false };
    const [after] = await tx('properties').where({ id: propertyId }).update(cols).returning('*');
    const b = rulesOfRow(before);
    const a = rulesOfRow(after);
    await appendAudit(tx, actor, {
      organizationId: before.organization_id,
      action: 'property.rules.update',
      targetType: 'property',
      targetId: propertyId,
      before: b,
      after: a,
    });
    return { rules: a, timeZone: after.time_zone as string, changed: JSON.stringify(a) !== JSON.stringify(b) };
  });
  return { rules, replaySuggestion: changed ? replaySuggestion(propertyId, timeZone, now) : null };
}
