import { describe, expect, it } from 'vitest';
import rulesData from './data/channel-rules.json' with { type: 'json' };
import categories from './data/source-categories.json' with { type: 'json' };
import { defaultChannelGroup, sourceCategory } from './channel-group.js';

type Row = [source: string, medium: string, campaign: string, expected: string];

const ch = (source: string, medium: string, campaign = '(not set)', isAutoTaggedGoogleAds = false) =>
  defaultChannelGroup({ source, medium, campaign, isAutoTaggedGoogleAds });

// Every rule of GA4-DEFINITIONS §B.2, with cases that must hit it and near misses that must not.
const CASES: Record<string, { hit: Row[]; miss: Row[] }> = {
  Direct: {
    hit: [
      ['(direct)', '(none)', '(direct)', 'Direct'],
      ['(direct)', '(not set)', '(not set)', 'Direct'],
      ['(DIRECT)', '(None)', '(direct)', 'Direct'],
    ],
    miss: [
      ['(direct)', 'referral', '(not set)', 'Referral'],
      ['direct', '(none)', '(not set)', 'Unassigned'],
    ],
  },
  'Cross-network': {
    hit: [
      ['google', 'cpc', 'pmax_cross-network_q3', 'Cross-network'],
      ['newsletter', 'email', 'Cross-Network Spring', 'Cross-network'],
    ],
    miss: [['google', 'cpc', 'cross network', 'Paid Search']],
  },
  'Paid Shopping': {
    hit: [
      ['amazon', 'cpc', '(not set)', 'Paid Shopping'],
      ['IGShopping', 'paid_social', '(not set)', 'Paid Shopping'],
      ['google', 'cpc', 'summer shopping', 'Paid Shopping'],
      ['facebook', 'retargeting', 'shop-2024', 'Paid Shopping'],
      ['newsletter', 'ppc', 'my_shop', 'Paid Shopping'],
    ],
    miss: [
      ['amazon', 'referral', '(not set)', 'Organic Shopping'],
      // 'workshop': 'shop' preceded by 'k', which [^a-df-z] excludes
      ['google', 'cpc', 'workshop', 'Paid Search'],
    ],
  },
  'Paid Search': {
    hit: [
      ['google', 'cpc', '(not set)', 'Paid Search'],
      ['Bing', 'PPC', 'brand', 'Paid Search'],
      ['duckduckgo', 'paid', '(not set)', 'Paid Search'],
      ['yahoo', 'paidsearch', '(not set)', 'Paid Search'],
      ['baidu', 'retargeting', '(not set)', 'Paid Search'],
    ],
    miss: [
      ['google', 'organic', '(organic)', 'Organic Search'],
      ['google.de', 'cpc', '(not set)', 'Paid Other'],
    ],
  },
  'Paid Social': {
    hit: [
      ['facebook', 'cpc', '(not set)', 'Paid Social'],
      ['m.facebook.com', 'paid_social', '(not set)', 'Paid Social'],
      ['LinkedIn', 'CPM-sponsored', '(not set)', 'Paid Social'],
      ['t.co', 'ppc', '(not set)', 'Paid Social'],
    ],
    miss: [
      ['facebook', 'social', '(not set)', 'Organic Social'],
      ['facebook', 'referral', '(referral)', 'Organic Social'],
    ],
  },
  'Paid Video': {
    hit: [
      ['youtube', 'cpv', '(not set)', 'Paid Video'],
      ['vimeo.com', 'paid', '(not set)', 'Paid Video'],
    ],
    miss: [['youtube.com', 'referral', '(referral)', 'Organic Video']],
  },
  Display: {
    hit: [
      ['dv360', 'display', '(not set)', 'Display'],
      ['adnetwork', 'Banner', '(not set)', 'Display'],
      ['adnetwork', 'expandable', '(not set)', 'Display'],
      ['adnetwork', 'interstitial', '(not set)', 'Display'],
      ['adnetwork', 'cpm', '(not set)', 'Display'],
    ],
    miss: [
      ['adnetwork', 'display-ads', '(not set)', 'Unassigned'],
      // a social source with a paid medium is Paid Social before Display is considered
      ['facebook', 'cpm', '(not set)', 'Paid Social'],
    ],
  },
  'Paid Other': {
    hit: [
      ['partner-network', 'cpc', '(not set)', 'Paid Other'],
      ['newsletter-sponsor', 'paid-placement', '(not set)', 'Paid Other'],
      ['taboola', 'cpa', '(not set)', 'Paid Other'],
    ],
    miss: [['partner-network', 'sponsored', '(not set)', 'Unassigned']],
  },
  'Organic Shopping': {
    hit: [
      ['etsy.com', 'referral', '(referral)', 'Organic Shopping'],
      ['Google Shopping', 'organic', '(not set)', 'Organic Shopping'],
      ['newsletter', 'email', 'black-friday-shopping', 'Organic Shopping'],
    ],
    miss: [['etsy.example', 'referral', '(referral)', 'Referral']],
  },
  'Organic Social': {
    hit: [
      ['l.facebook.com', 'referral', '(referral)', 'Organic Social'],
      ['reddit.com', 'referral', '(referral)', 'Organic Social'],
      ['lnkd.in', 'referral', '(referral)', 'Organic Social'],
      ['mastodon.social', 'social', '(not set)', 'Organic Social'],
      ['anything', 'Social-Network', '(not set)', 'Organic Social'],
      ['anything', 'social media', '(not set)', 'Organic Social'],
      ['anything', 'sm', '(not set)', 'Organic Social'],
    ],
    miss: [['anything', 'socials', '(not set)', 'Unassigned']],
  },
  'Organic Video': {
    hit: [
      ['m.youtube.com', 'referral', '(referral)', 'Organic Video'],
      ['podcast-site', 'video_embed', '(not set)', 'Organic Video'],
    ],
    miss: [['vid.example', 'vid', '(not set)', 'Unassigned']],
  },
  'Organic Search': {
    hit: [
      ['google', 'organic', '(organic)', 'Organic Search'],
      ['ecosia.org', 'organic', '(organic)', 'Organic Search'],
      ['news.google.com', 'referral', '(referral)', 'Organic Search'],
      ['some-engine', 'Organic', '(not set)', 'Organic Search'],
    ],
    miss: [['some-engine', 'organic-ish', '(not set)', 'Unassigned']],
  },
  Referral: {
    hit: [
      ['example.org', 'referral', '(referral)', 'Referral'],
      ['partner', 'app', '(not set)', 'Referral'],
      ['partner', 'link', '(not set)', 'Referral'],
    ],
    miss: [['partner', 'links', '(not set)', 'Unassigned']],
  },
  Email: {
    hit: [
      ['newsletter', 'email', '(not set)', 'Email'],
      ['newsletter', 'E-Mail', '(not set)', 'Email'],
      ['newsletter', 'e_mail', '(not set)', 'Email'],
      ['newsletter', 'e mail', '(not set)', 'Email'],
      ['email', '(not set)', '(not set)', 'Email'],
      ['EMAIL', 'newsletter', '(not set)', 'Email'],
    ],
    miss: [
      // Google's table reads "Source = email|e-mail|...": a one-of, not a substring (§B.5.2)
      ['newsletter', 'newsletter-email', '(not set)', 'Unassigned'],
      // Referral precedes Email in Google's order (§B.5.3)
      ['email', 'referral', '(not set)', 'Referral'],
    ],
  },
  Affiliates: {
    hit: [['partner', 'Affiliate', '(not set)', 'Affiliates']],
    miss: [['partner', 'affiliates', '(not set)', 'Unassigned']],
  },
  Audio: {
    hit: [['spotify', 'audio', '(not set)', 'Audio']],
    miss: [['spotify', 'audio-ad', '(not set)', 'Unassigned']],
  },
  SMS: {
    hit: [
      ['sms', '(not set)', '(not set)', 'SMS'],
      ['twilio', 'SMS', '(not set)', 'SMS'],
    ],
    miss: [['twilio', 'sms-blast', '(not set)', 'Unassigned']],
  },
  'Mobile Push Notifications': {
    hit: [
      ['app', 'web-push', '(not set)', 'Mobile Push Notifications'],
      ['app', 'mobile', '(not set)', 'Mobile Push Notifications'],
      ['app', 'in-app-notification', '(not set)', 'Mobile Push Notifications'],
      ['Firebase', '(not set)', '(not set)', 'Mobile Push Notifications'],
    ],
    miss: [['app', 'pushed', '(not set)', 'Unassigned']],
  },
  Unassigned: {
    hit: [
      ['(not set)', '(not set)', '(not set)', 'Unassigned'],
      ['crm', 'qr-code', 'poster', 'Unassigned'],
      ['', '', '', 'Unassigned'],
    ],
    miss: [],
  },
};

describe('defaultChannelGroup', () => {
  it('has a case block for every channel of the rule file, in its order', () => {
    const channels = [...new Set([...rulesData.rules.map((r) => r.channel), rulesData.fallback])];
    expect(Object.keys(CASES)).toEqual(channels);
  });

  for (const [channel, { hit, miss }] of Object.entries(CASES)) {
    describe(channel, () => {
      it.each(hit)('%s / %s / %s -> %s', (source, medium, campaign, expected) => {
        expect(expected).toBe(channel);
        expect(ch(source, medium, campaign)).toBe(expected);
      });
      if (miss.length > 0) {
        it.each(miss)('near miss %s / %s / %s -> %s', (source, medium, campaign, expected) => {
          expect(expected).not.toBe(channel);
          expect(ch(source, medium, campaign)).toBe(expected);
        });
      }
    });
  }

  it('auto-tagged Google Ads is Paid Search unless its campaign is cross-network or shopping', () => {
    expect(ch('google', 'cpc', '(not set)', true)).toBe('Paid Search');
    expect(ch('google', 'cpc', 'PMax cross-network', true)).toBe('Cross-network');
    expect(ch('google', 'cpc', 'Summer Shopping', true)).toBe('Paid Shopping');
    // the flag decides even when the values alone would not say search
    expect(ch('google', 'cpc', '(not set)', false)).toBe('Paid Search');
    expect(ch('adwords', 'cpc', '(not set)', true)).toBe('Paid Search');
    expect(ch('adwords', 'cpc', '(not set)', false)).toBe('Paid Other');
  });

  it('is case-insensitive on every field', () => {
    for (const [s, m, c] of [
      ['FACEBOOK', 'CPC', 'X'],
      ['Facebook', 'Cpc', 'x'],
      ['facebook', 'cpc', 'x'],
    ]) {
      expect(ch(s, m, c)).toBe('Paid Social');
    }
    expect(ch('Google', 'CPC', 'BLACK FRIDAY SHOPPING')).toBe('Paid Shopping');
  });
});

describe('source categories (Google spreadsheet via dbt-ga4)', () => {
  it('holds the full 819-row list, one category per source', () => {
    const all = [...categories.search, ...categories.social, ...categories.shopping, ...categories.video];
    expect(all.length).toBe(819);
    expect(new Set(all).size).toBe(all.length);
    for (const s of all) expect(s).toBe(s.toLowerCase());
  });

  it('classifies by exact, case-insensitive membership', () => {
    expect(sourceCategory('google')).toBe('search');
    expect(sourceCategory('Facebook.com')).toBe('social');
    expect(sourceCategory('IGShopping')).toBe('shopping');
    expect(sourceCategory('youtube')).toBe('video');
    expect(sourceCategory('www.facebook.com')).toBeNull();
    expect(sourceCategory('bing.com')).toBeNull();
  });
});
