import rulesData from './data/channel-rules.json' with { type: 'json' };
import categoriesData from './data/source-categories.json' with { type: 'json' };
import { regexProblem } from '../rules/safe-regex.js';

/**
 * GA4 Default Channel Group (GA4-DEFINITIONS §B.2): an interpreter of an ordered rule list, first
 * matching rule wins, else the fallback. The default group is the list in data/channel-rules.json
 * (`DEFAULT_CHANNEL_RULES`); a property may replace it with its own list (property settings
 * `channelRules`), interpreted the same way. All comparisons are case-insensitive; `regex`
 * conditions are searched (they anchor themselves), `category` is exact membership in GA4's
 * source lists.
 */

export type ChannelField = 'source' | 'medium' | 'campaign';
type Field = ChannelField;

export type ChannelCondition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { flag: 'isAutoTaggedGoogleAds' }
  | { field: Field; in: string[] }
  | { field: Field; contains: string }
  | { field: Field; endsWith: string }
  | { field: Field; regex: string }
  | { field: Field; category: SourceCategory };

type Condition = ChannelCondition;

export interface ChannelRule {
  channel: string;
  when: ChannelCondition;
}

/** The default channel group's rules, in order (GA4's), and the channel when none matches. */
export const DEFAULT_CHANNEL_RULES: readonly ChannelRule[] = rulesData.rules as ChannelRule[];
export const CHANNEL_FALLBACK: string = rulesData.fallback;
export const CHANNEL_RULE_LIMITS = { rules: 100, depth: 4, conditions: 200, regexLength: 300, channelLength: 64, values: 200 } as const;

export type SourceCategory = 'search' | 'social' | 'shopping' | 'video';

export interface ChannelInput {
  source: string;
  medium: string;
  campaign: string;
  isAutoTaggedGoogleAds?: boolean;
}

type Normalised = Record<Field, string> & { isAutoTaggedGoogleAds: boolean };
type Test = (t: Normalised) => boolean;

const CATEGORIES: Record<SourceCategory, ReadonlySet<string>> = {
  search: new Set(categoriesData.search),
  social: new Set(categoriesData.social),
  shopping: new Set(categoriesData.shopping),
  video: new Set(categoriesData.video),
};

/** The GA4 source category of a source value, matched case-insensitively; null when none. */
export function sourceCategory(source: string): SourceCategory | null {
  const s = source.toLowerCase();
  for (const c of Object.keys(CATEGORIES) as SourceCategory[]) if (CATEGORIES[c].has(s)) return c;
  return null;
}

function compile(c: Condition): Test {
  if ('all' in c) {
    const parts = c.all.map(compile);
    return (t) => parts.every((p) => p(t));
  }
  if ('any' in c) {
    const parts = c.any.map(compile);
    return (t) => parts.some((p) => p(t));
  }
  if ('flag' in c) return (t) => t[c.flag];
  const f = c.field;
  if ('in' in c) {
    const values = new Set(c.in.map((v) => v.toLowerCase()));
    return (t) => values.has(t[f]);
  }
  if ('contains' in c) {
    const needle = c.contains.toLowerCase();
    return (t) => t[f].includes(needle);
  }
  if ('endsWith' in c) {
    const suffix = c.endsWith.toLowerCase();
    return (t) => t[f].endsWith(suffix);
  }
  if ('regex' in c) {
    const re = new RegExp(c.regex, 'i');
    return (t) => re.test(t[f]);
  }
  if ('category' in c) {
    const set = CATEGORIES[c.category];
    if (set === undefined) throw new Error(`channel rules: unknown category ${c.category}`);
    return (t) => set.has(t[f]);
  }
  throw new Error(`channel rules: unknown condition ${JSON.stringify(c)}`);
}

export type ChannelGrouper = (t: ChannelInput) => string;

/** Compiles an ordered rule list into a classifier (throws on a rule `channelRulesProblem` refuses). */
export function compileChannelGroup(rules: readonly ChannelRule[], fallback: string = CHANNEL_FALLBACK): ChannelGrouper {
  const compiled = rules.map((r) => ({ channel: r.channel, test: compile(r.when) }));
  return (t) => {
    const n: Normalised = {
      source: (t.source ?? '').toLowerCase(),
      medium: (t.medium ?? '').toLowerCase(),
      campaign: (t.campaign ?? '').toLowerCase(),
      isAutoTaggedGoogleAds: t.isAutoTaggedGoogleAds === true,
    };
    for (const r of compiled) if (r.test(n)) return r.channel;
    return fallback;
  };
}

export const defaultChannelGroup: ChannelGrouper = compileChannelGroup(DEFAULT_CHANNEL_RULES);

/**
 * Why a property's rule list is refused, or null: bounded (rules, nesting depth, conditions,
 * values), known fields and categories, and every regex safe (`regexProblem`). The path names the
 * offending rule, e.g. `rules[3].when.all[1]`.
 */
export function channelRulesProblem(rules: readonly ChannelRule[]): { path: string; problem: string } | null {
  const L = CHANNEL_RULE_LIMITS;
  if (rules.length > L.rules) return { path: 'rules', problem: `at most ${L.rules} rules` };
  let conditions = 0;
  const check = (c: ChannelCondition, path: string, depth: number): { path: string; problem: string } | null => {
    if (++conditions > L.conditions) return { path, problem: `at most ${L.conditions} conditions in all` };
    if (depth > L.depth) return { path, problem: `nested at most ${L.depth} deep` };
    if ('all' in c || 'any' in c) {
      const parts = 'all' in c ? c.all : c.any;
      const key = 'all' in c ? 'all' : 'any';
      if (parts.length === 0) return { path, problem: `${key} needs at least one condition` };
      for (let i = 0; i < parts.length; i++) {
        const p = check(parts[i], `${path}.${key}[${i}]`, depth + 1);
        if (p) return p;
      }
      return null;
    }
    if ('regex' in c) {
      const p = regexProblem(c.regex, L.regexLength);
      return p ? { path: `${path}.regex`, problem: p } : null;
    }
    if ('category' in c && !(c.category in CATEGORIES)) return { path: `${path}.category`, problem: 'search, social, shopping or video' };
    if ('in' in c && c.in.length > L.values) return { path: `${path}.in`, problem: `at most ${L.values} values` };
    return null;
  };
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.channel.trim() === '' || r.channel.length > L.channelLength) return { path: `rules[${i}].channel`, problem: `1 to ${L.channelLength} characters` };
    const p = check(r.when, `rules[${i}].when`, 1);
    if (p) return p;
  }
  return null;
}
