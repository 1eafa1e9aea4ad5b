import { regexProblem } from './safe-regex.js';

/**
 * A property's own bot patterns, applied by the transform after the built-in verdict
 * (`enrichment/bot.ts`) to the visitor's user agent: `contains` is a case-insensitive substring,
 * `regex` a case-insensitive JavaScript regular expression. Bounded (count, length) and checked
 * when saved (`botPatternProblem`), so a pattern can neither fail a transform nor take it hostage.
 */

export interface BotPattern {
  match: 'contains' | 'regex';
  value: string;
}

export const BOT_PATTERN_LIMITS = { count: 50, length: 200 } as const;

/** Why a pattern is refused, or null (regexes: `regexProblem`). */
export function botPatternProblem(p: BotPattern): string | null {
  if (p.match === 'contains') return p.value.length === 0 || p.value.length > BOT_PATTERN_LIMITS.length ? `1 to ${BOT_PATTERN_LIMITS.length} characters` : null;
  return regexProblem(p.value, BOT_PATTERN_LIMITS.length);
}

/** The matcher of a property's patterns: true when any matches the user agent. */
export function customBotMatcher(patterns: readonly BotPattern[] | undefined): ((ua: string) => boolean) | null {
  if (patterns === undefined || patterns.length === 0) return null;
  const needles = patterns.filter((p) => p.match === 'contains').map((p) => p.value.toLowerCase());
  const res = patterns.filter((p) => p.match === 'regex' && botPatternProblem(p) === null).map((p) => new RegExp(p.value, 'i'));
  return (ua) => {
    const lower = ua.toLowerCase();
    return needles.some((n) => lower.includes(n)) || res.some((re) => re.test(ua));
  };
}
