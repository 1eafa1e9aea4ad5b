import rulesData from './data/channel-rules.json' with { type: 'json' };
import categoriesData from './data/source-categories.json' with { type: 'json' };

/**
 * GA4 Default Channel Group (GA4-DEFINITIONS §B.2): an interpreter of data/channel-rules.json,
 * first matching rule wins. All comparisons are case-insensitive; `regex` conditions are
 * searched (they anchor themselves), `category` is exact membership in GA4's source lists.
 */

type Field = 'source' | 'medium' | 'campaign';

type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { flag: 'isAutoTaggedGoogleAds' }
  | { field: Field; in: string[] }
  | { field: Field; contains: string }
  | { field: Field; endsWith: string }
  | { field: Field; regex: string }
  | { field: Field; category: SourceCategory };

interface Rule {
  channel: string;
  when: Condition;
}

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
    if (set === undefined) throw new Error(`channel-rules.json: unknown category ${c.category}`);
    return (t) => set.has(t[f]);
  }
  throw new Error(`channel-rules.json: unknown condition ${JSON.stringify(c)}`);
}

const RULES: readonly { channel: string; test: Test }[] = (rulesData.rules as Rule[]).map((r) => ({
  channel: r.channel,
  test: compile(r.when),
}));
const FALLBACK: string = rulesData.fallback;

export function defaultChannelGroup(t: ChannelInput): string {
  const n: Normalised = {
    source: (t.source ?? '').toLowerCase(),
    medium: (t.medium ?? '').toLowerCase(),
    campaign: (t.campaign ?? '').toLowerCase(),
    isAutoTaggedGoogleAds: t.isAutoTaggedGoogleAds === true,
  };
  for (const r of RULES) if (r.test(n)) return r.channel;
  return FALLBACK;
}
