import { describe, expect, it } from 'vitest';
import { botVerdict } from '../enrichment/bot.js';
import {
  CHANNEL_FALLBACK,
  channelRulesProblem,
  compileChannelGroup,
  DEFAULT_CHANNEL_RULES,
  defaultChannelGroup,
  type ChannelRule,
} from '../enrichment/channel-group.js';
import { attributeTraffic } from '../enrichment/traffic-source.js';
import { botPatternProblem, customBotMatcher } from './bot-patterns.js';
import { decidableOnTruncatedIp, edgeTrafficTyper, internalExclusion, parseCidr, type InternalTrafficSettings } from './internal-traffic.js';
import { regexProblem } from './safe-regex.js';

const settings = (filter: 'active' | 'inactive' = 'active'): InternalTrafficSettings => ({
  filter,
  rules: [
    { name: 'office', trafficType: 'internal', cidrs: ['198.51.100.0/24', '2001:db8:1::/48', '203.0.113.7'] },
    { name: 'agency', trafficType: 'agency', cidrs: ['192.0.2.128/25'] },
  ],
});

describe('internal traffic rules', () => {
  it('parses IPv4 and IPv6 ranges and bare addresses, and refuses anything else', () => {
    expect(parseCidr('198.51.100.0/24')).toEqual({ family: 4, address: '198.51.100.0', prefix: 24 });
    expect(parseCidr(' 2001:db8::/32 ')).toEqual({ family: 6, address: '2001:db8::', prefix: 32 });
    expect(parseCidr('203.0.113.7')).toEqual({ family: 4, address: '203.0.113.7', prefix: 32 });
    expect(parseCidr('::1')).toEqual({ family: 6, address: '::1', prefix: 128 });
    for (const bad of ['198.51.100.0/33', '2001:db8::/129', '198.51.100/24', 'office', '1.2.3.4/-1', '1.2.3.4/', '1.2.3.4/24/1', ''])
      expect(parseCidr(bad), bad).toBeNull();
  });

  it('stamps the first matching rule on the full IP at the edge (v4 and v6)', () => {
    const typer = edgeTrafficTyper(settings());
    expect(typer('198.51.100.77')).toBe('internal');
    expect(typer('2001:db8:1:ffff::9')).toBe('internal');
    expect(typer('203.0.113.7')).toBe('internal');
    expect(typer('203.0.113.8')).toBeNull(); // the /32 holds one host, not its /24
    expect(typer('192.0.2.200')).toBe('agency');
    expect(typer('192.0.2.5')).toBeNull();
    expect(typer('2001:db8:2::1')).toBeNull();
    expect(typer(null)).toBeNull();
    expect(edgeTrafficTyper(undefined)('198.51.100.77')).toBeNull();
  });

  it('excludes in the transform: stamped types still defined, and truncated IPs in ranges as wide as the truncation', () => {
    const exclude = internalExclusion(settings())!;
    // stamped at the edge by a rule that still exists
    expect(exclude('203.0.113.0', 'internal')).toBe(true);
    expect(exclude(null, 'agency')).toBe(true);
    // not stamped (ingested before the rule): a /24 and a /48 decide on the truncated IP
    expect(exclude('198.51.100.0', null)).toBe(true);
    expect(exclude('2001:db8:1::', null)).toBe(true);
    // a narrower range cannot: the /32 and the /25 apply only to what the edge stamped
    expect(exclude('203.0.113.0', null)).toBe(false);
    expect(exclude('192.0.2.0', null)).toBe(false);
    // a type no rule defines any more (its rule was deleted) is counted again
    expect(exclude('10.0.0.0', 'contractor')).toBe(false);
    expect(decidableOnTruncatedIp(parseCidr('10.0.0.0/8')!)).toBe(true);
    expect(decidableOnTruncatedIp(parseCidr('10.0.0.0/25')!)).toBe(false);
    expect(decidableOnTruncatedIp(parseCidr('2001:db8::/48')!)).toBe(true);
    expect(decidableOnTruncatedIp(parseCidr('2001:db8::/56')!)).toBe(false);
  });

  it('excludes nothing when the filter is inactive or there is no rule', () => {
    expect(internalExclusion(settings('inactive'))).toBeNull();
    expect(internalExclusion({ filter: 'active', rules: [] })).toBeNull();
    expect(internalExclusion(undefined)).toBeNull();
  });
});

describe('extra bot patterns', () => {
  it('match substrings and regexes case-insensitively, after the built-in list', () => {
    const custom = customBotMatcher([
      { match: 'contains', value: 'AcmeKiosk' },
      { match: 'regex', value: '^internal-probe/\\d+' },
    ]);
    const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
    expect(botVerdict(`${chrome} acmekiosk/2.1`, 'payload', custom)).toEqual({ isBot: true, reason: 'custom_pattern' });
    expect(botVerdict('Internal-Probe/7 (ops)', 'payload', custom)).toEqual({ isBot: true, reason: 'custom_pattern' });
    expect(botVerdict(chrome, 'payload', custom)).toEqual({ isBot: false, reason: null });
    // the built-in verdict keeps its own reason; a server sender is never judged
    expect(botVerdict('Googlebot/2.1 AcmeKiosk', 'request', custom).reason).toBe('ua_bot');
    expect(botVerdict('AcmeKiosk', 'none', custom).isBot).toBe(false);
    expect(customBotMatcher([])).toBeNull();
  });

  it('refuses patterns that cannot compile, are too long or backtrack catastrophically', () => {
    expect(botPatternProblem({ match: 'regex', value: '(unclosed' })).toBe('not a valid regular expression');
    expect(botPatternProblem({ match: 'regex', value: '(a+)+$' })).toMatch(/catastrophic/);
    expect(botPatternProblem({ match: 'regex', value: '(\\w*)*x' })).toMatch(/catastrophic/);
    expect(botPatternProblem({ match: 'regex', value: '(a)\\1' })).toMatch(/backreference/);
    expect(botPatternProblem({ match: 'contains', value: 'x'.repeat(201) })).toMatch(/1 to 200/);
    expect(botPatternProblem({ match: 'contains', value: '(a+)+' })).toBeNull(); // a substring is only a substring
    expect(botPatternProblem({ match: 'regex', value: 'monitor|probe' })).toBeNull();
  });
});

describe('channel group rules as data', () => {
  it('the default list is the default group, and passes its own validation', () => {
    expect(channelRulesProblem(DEFAULT_CHANNEL_RULES)).toBeNull();
    const again = compileChannelGroup(DEFAULT_CHANNEL_RULES);
    for (const t of [
      { source: '(direct)', medium: '(none)', campaign: '(not set)' },
      { source: 'google', medium: 'cpc', campaign: 'x' },
      { source: 'newsletter', medium: 'email', campaign: 'spring_sale' },
      { source: 'facebook.com', medium: 'referral', campaign: '(not set)' },
      { source: 'nowhere', medium: 'weird', campaign: '(not set)' },
    ])
      expect(again(t)).toBe(defaultChannelGroup(t));
    expect(regexProblem('^(.*cp.*|ppc|retargeting|paid.*)$', 300)).toBeNull();
  });

  it("a property's own ordered list: first match wins, the default's rules can follow, fallback otherwise", () => {
    const rules: ChannelRule[] = [
      { channel: 'Promo', when: { field: 'campaign', regex: '^spring' } },
      {
        channel: 'Partners',
        when: {
          any: [
            { field: 'source', in: ['partner-a.com', 'partner-b.com'] },
            { field: 'source', endsWith: '.partner.test' },
          ],
        },
      },
      ...DEFAULT_CHANNEL_RULES,
    ];
    const group = compileChannelGroup(rules);
    expect(group({ source: 'newsletter', medium: 'email', campaign: 'Spring_Sale' })).toBe('Promo');
    expect(group({ source: 'newsletter', medium: 'email', campaign: 'autumn' })).toBe('Email');
    expect(group({ source: 'Partner-B.com', medium: 'referral', campaign: '(not set)' })).toBe('Partners');
    expect(group({ source: 'x.partner.test', medium: 'referral', campaign: '(not set)' })).toBe('Partners');
    expect(compileChannelGroup([{ channel: 'Only', when: { field: 'medium', contains: 'mail' } }])({ source: 'a', medium: 'cpc', campaign: 'b' })).toBe(
      CHANNEL_FALLBACK,
    );
    // attribution uses the property's group when given one
    expect(attributeTraffic({ pageUrl: 'https://shop.test/?utm_source=news&utm_medium=email&utm_campaign=spring', referrer: null }, group).channelGroup).toBe(
      'Promo',
    );
    expect(attributeTraffic({ pageUrl: 'https://shop.test/?utm_source=news&utm_medium=email&utm_campaign=spring', referrer: null }).channelGroup).toBe('Email');
  });

  it('refuses unusable lists with the path of the first problem', () => {
    expect(channelRulesProblem([{ channel: 'X', when: { field: 'source', regex: '(a+)+' } }])).toEqual({
      path: 'rules[0].when.regex',
      problem: expect.stringMatching(/catastrophic/),
    });
    expect(
      channelRulesProblem([
        {
          channel: 'X',
          when: {
            all: [
              { field: 'medium', in: ['a'] },
              { field: 'source', regex: '[' },
            ],
          },
        },
      ])?.path,
    ).toBe('rules[0].when.all[1].regex');
    expect(channelRulesProblem([{ channel: ' ', when: { flag: 'isAutoTaggedGoogleAds' } }])?.path).toBe('rules[0].channel');
    expect(channelRulesProblem([{ channel: 'X', when: { any: [] } }])?.problem).toMatch(/at least one/);
    let deep: ChannelRule['when'] = { field: 'source', in: ['a'] };
    for (let i = 0; i < 5; i++) deep = { all: [deep] };
    expect(channelRulesProblem([{ channel: 'X', when: deep }])?.problem).toMatch(/nested/);
    expect(channelRulesProblem(Array.from({ length: 101 }, () => ({ channel: 'X', when: { flag: 'isAutoTaggedGoogleAds' as const } })))?.path).toBe('rules');
  });
});
