import { isbot } from 'isbot';
import signatures from './data/bot-signatures.json' with { type: 'json' };

/**
 * Bot verdict on the visitor's user agent only. A server-to-server event (uaSource 'none')
 * carries no visitor UA, and the sender's own UA (node, undici, python-requests, posthog-node...)
 * says nothing about the visitor, so it is never judged. Checks, first match wins:
 * empty request UA, headless browsers, data-centre / monitoring clients, then isbot's list
 * (snapshotted in data/isbot-patterns.json for the Spark job).
 */

/** `custom_pattern`: one of the property's own bot patterns (`rules/bot-patterns.ts`), checked after the built-in list. */
export type BotReason = 'ua_bot' | 'headless' | 'datacenter_signature' | 'empty_ua' | 'custom_pattern';

export interface BotVerdict {
  isBot: boolean;
  reason: BotReason | null;
}

const HUMAN: BotVerdict = Object.freeze({ isBot: false, reason: null });

const compile = (patterns: string[]): RegExp[] => patterns.map((p) => new RegExp(p, 'i'));
const HEADLESS = compile(signatures.headless);
const DATACENTER_ANY = compile(signatures.datacenter.anySource);
const DATACENTER_REQUEST = compile(signatures.datacenter.requestOnly);

const verdict = (reason: BotReason): BotVerdict => ({ isBot: true, reason });
const matches = (res: RegExp[], ua: string): boolean => res.some((re) => re.test(ua));

/** `custom`: the property's own patterns (`customBotMatcher`), tried when the built-in checks find no bot. */
export function botVerdict(ua: string | null, uaSource: 'payload' | 'request' | 'none', custom?: ((ua: string) => boolean) | null): BotVerdict {
  if (uaSource === 'none') return HUMAN;
  if (ua === null || ua === undefined || ua.trim() === '') {
    return uaSource === 'request' ? verdict('empty_ua') : HUMAN;
  }
  if (matches(HEADLESS, ua)) return verdict('headless');
  if (matches(DATACENTER_ANY, ua)) return verdict('datacenter_signature');
  if (uaSource === 'request' && matches(DATACENTER_REQUEST, ua)) return verdict('datacenter_signature');
  if (isbot(ua)) return verdict('ua_bot');
  if (custom && custom(ua)) return verdict('custom_pattern');
  return HUMAN;
}
