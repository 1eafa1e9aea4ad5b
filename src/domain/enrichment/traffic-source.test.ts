import { describe, expect, it } from 'vitest';
import engines from './data/search-engines.json' with { type: 'json' };
import { sourceCategory } from './channel-group.js';
import { attributeTraffic, type TrafficSource } from './traffic-source.js';

const PAGE = 'https://www.shop.example/landing';

const t = (pageUrl: string | null, referrer: string | null, params?: Record<string, unknown>, ownHosts?: string[]) =>
  attributeTraffic({ pageUrl, referrer, params, ownHosts });

const src = (source: string, medium: string, campaign: string, channelGroup: string, term = '(not set)', content = '(not set)'): TrafficSource => ({
  source,
  medium,
  campaign,
  term,
  content,
  channelGroup,
});

describe('attributeTraffic: direct and self-referral', () => {
  it('no referrer is direct', () => {
    expect(t(PAGE, null)).toEqual(src('(direct)', '(none)', '(direct)', 'Direct'));
    expect(t(PAGE, '')).toEqual(src('(direct)', '(none)', '(direct)', 'Direct'));
    expect(t(null, null)).toEqual(src('(direct)', '(none)', '(direct)', 'Direct'));
  });

  it('a referrer on the page host (with or without www.) is direct', () => {
    expect(t(PAGE, 'https://www.shop.example/previous')).toEqual(src('(direct)', '(none)', '(direct)', 'Direct'));
    expect(t(PAGE, 'http://shop.example:8080/')).toEqual(src('(direct)', '(none)', '(direct)', 'Direct'));
  });

  it('a referrer on one of ownHosts or their subdomains is direct; other hosts are referrals', () => {
    const own = ['shop.example', 'checkout.payments.example'];
    expect(t(PAGE, 'https://blog.shop.example/post', undefined, own).channelGroup).toBe('Direct');
    expect(t(PAGE, 'https://checkout.payments.example/done', undefined, own).channelGroup).toBe('Direct');
    expect(t(PAGE, 'https://payments.example/', undefined, own)).toEqual(src('payments.example', 'referral', '(referral)', 'Referral'));
    // without ownHosts a sibling subdomain is a referral, as in GA4 without cross-domain config
    expect(t(PAGE, 'https://blog.shop.example/post')).toEqual(src('blog.shop.example', 'referral', '(referral)', 'Referral'));
  });

  it('an unparsable referrer is direct', () => {
    expect(t(PAGE, 'not a url').channelGroup).toBe('Direct');
  });
});

describe('attributeTraffic: search engines', () => {
  it.each([
    ['https://www.google.com/', 'google'],
    ['https://www.google.co.uk/search?q=x', 'google'],
    ['https://google.de/', 'google'],
    ['https://www.google.com.au/', 'google'],
    ['android-app://com.google.android.googlequicksearchbox/', 'google'],
    ['https://www.bing.com/search?q=x', 'bing'],
    ['https://duckduckgo.com/', 'duckduckgo'],
    ['https://r.search.yahoo.com/_ylt=x', 'yahoo'],
    ['https://uk.search.yahoo.com/search?p=x', 'yahoo'],
    ['https://www.baidu.com/link?url=x', 'baidu'],
    ['https://yandex.ru/search/?text=x', 'yandex'],
    ['https://ya.ru/', 'yandex'],
    ['https://www.ecosia.org/search?q=x', 'ecosia.org'],
    ['https://search.naver.com/search.naver?query=x', 'naver'],
    ['https://www.qwant.com/?q=x', 'qwant'],
  ])('%s -> %s / organic', (referrer, engine) => {
    expect(t(PAGE, referrer)).toEqual(src(engine, 'organic', '(organic)', 'Organic Search'));
  });

  it('other Google hosts are referrals, classified by the source lists', () => {
    expect(t(PAGE, 'https://news.google.com/articles/x')).toEqual(src('news.google.com', 'referral', '(referral)', 'Organic Search'));
    expect(t(PAGE, 'https://groups.google.com/g/x')).toEqual(src('groups.google.com', 'referral', '(referral)', 'Organic Social'));
    expect(t(PAGE, 'https://docs.google.com/document/d/x')).toEqual(src('docs.google.com', 'referral', '(referral)', 'Referral'));
    expect(t(PAGE, 'https://www.google.evil.example/')).toEqual(src('google.evil.example', 'referral', '(referral)', 'Referral'));
  });

  it('every engine name is in the search source list', () => {
    for (const e of engines.engines) expect(sourceCategory(e.name), e.name).toBe('search');
  });
});

describe('attributeTraffic: referrals', () => {
  it('strips a leading www. only, and keeps subdomains as GA4 does', () => {
    expect(t(PAGE, 'https://www.facebook.com/')).toEqual(src('facebook.com', 'referral', '(referral)', 'Organic Social'));
    expect(t(PAGE, 'https://m.facebook.com/story')).toEqual(src('m.facebook.com', 'referral', '(referral)', 'Organic Social'));
    expect(t(PAGE, 'https://l.facebook.com/l.php?u=x')).toEqual(src('l.facebook.com', 'referral', '(referral)', 'Organic Social'));
    expect(t(PAGE, 'https://t.co/abc')).toEqual(src('t.co', 'referral', '(referral)', 'Organic Social'));
    expect(t(PAGE, 'https://www.youtube.com/watch?v=x')).toEqual(src('youtube.com', 'referral', '(referral)', 'Organic Video'));
    expect(t(PAGE, 'https://www.etsy.com/listing/1')).toEqual(src('etsy.com', 'referral', '(referral)', 'Organic Shopping'));
    expect(t(PAGE, 'https://blog.partner.example/post')).toEqual(src('blog.partner.example', 'referral', '(referral)', 'Referral'));
    expect(t(PAGE, 'https://www/')).toEqual(src('www', 'referral', '(referral)', 'Referral'));
  });
});

describe('attributeTraffic: UTM parameters', () => {
  it('page-URL UTMs win over the referrer', () => {
    const r = t(`${PAGE}?utm_source=Newsletter&utm_medium=Email&utm_campaign=Spring+Sale&utm_term=shoes&utm_content=hero%20banner`, 'https://www.google.com/');
    expect(r).toEqual(src('Newsletter', 'Email', 'Spring Sale', 'Email', 'shoes', 'hero banner'));
  });

  it('a source without a medium gets medium (not set); absent fields are (not set)', () => {
    expect(t(`${PAGE}?utm_source=partner`, null)).toEqual(src('partner', '(not set)', '(not set)', 'Unassigned'));
    expect(t(`${PAGE}?utm_source=facebook`, null)).toEqual(src('facebook', '(not set)', '(not set)', 'Organic Social'));
    expect(t(`${PAGE}?utm_medium=cpc`, null)).toEqual(src('(not set)', 'cpc', '(not set)', 'Paid Other'));
  });

  it('empty UTM values and utm_term/utm_content alone do not tag the visit', () => {
    expect(t(`${PAGE}?utm_source=&utm_medium=`, 'https://www.bing.com/').source).toBe('bing');
    expect(t(`${PAGE}?utm_term=x&utm_content=y`, null).channelGroup).toBe('Direct');
  });

  it('takes the first value of a repeated key and matches keys case-insensitively', () => {
    expect(t(`${PAGE}?UTM_SOURCE=a&utm_source=b&Utm_Medium=cpc`, null)).toMatchObject({ source: 'a', medium: 'cpc' });
  });

  it('keeps values as sent; channel matching ignores case', () => {
    expect(t(`${PAGE}?utm_source=FaceBook&utm_medium=CPC`, null)).toEqual(src('FaceBook', 'CPC', '(not set)', 'Paid Social'));
  });

  it('cross-network and shopping campaigns', () => {
    expect(t(`${PAGE}?utm_source=google&utm_medium=cpc&utm_campaign=pmax_cross-network`, null).channelGroup).toBe('Cross-network');
    expect(t(`${PAGE}?utm_source=google&utm_medium=cpc&utm_campaign=shopping_q4`, null).channelGroup).toBe('Paid Shopping');
  });
});

describe('attributeTraffic: event params', () => {
  it('gtag campaign_* params tag the visit when the URL has no UTMs', () => {
    const r = t(PAGE, 'https://www.google.com/', {
      campaign_source: 'crm',
      campaign_medium: 'sms',
      campaign_name: 'reminder',
      campaign_term: 'k',
      campaign_content: 'c',
      campaign_id: 'id-1',
    });
    expect(r).toEqual(src('crm', 'sms', 'reminder', 'SMS', 'k', 'c'));
  });

  it('Measurement Protocol source/medium/campaign params tag the visit', () => {
    expect(t(null, null, { source: 'firebase', medium: 'notification', campaign: 42 })).toEqual(
      src('firebase', 'notification', '42', 'Mobile Push Notifications'),
    );
  });

  it('page-URL UTMs win over params; non-scalar and empty params are ignored', () => {
    expect(t(`${PAGE}?utm_source=a&utm_medium=referral`, null, { source: 'b', medium: 'email' })).toMatchObject({
      source: 'a',
      medium: 'referral',
    });
    expect(t(PAGE, null, { source: { nested: true }, medium: '', campaign: null }).channelGroup).toBe('Direct');
  });
});

describe('attributeTraffic: Google Ads click ids', () => {
  it.each(['gclid', 'wbraid', 'gbraid'])('%s -> google / cpc, Paid Search', (id) => {
    expect(t(`${PAGE}?${id}=Cj0KCQ`, 'https://www.google.com/')).toEqual(src('google', 'cpc', '(not set)', 'Paid Search'));
  });

  it('auto-tagging beats manual source/medium but keeps the UTM campaign fields', () => {
    expect(t(`${PAGE}?gclid=x&utm_source=newsletter&utm_medium=email&utm_campaign=PMax+Cross-Network&utm_term=t`, null)).toEqual(
      src('google', 'cpc', 'PMax Cross-Network', 'Cross-network', 't'),
    );
  });

  it('a gclid event param counts too; an empty gclid does not', () => {
    expect(t(PAGE, null, { gclid: 'abc' }).channelGroup).toBe('Paid Search');
    expect(t(`${PAGE}?gclid=`, null).channelGroup).toBe('Direct');
  });
});
