/**
 * The fixed vocabulary of the demo traffic: countries with IP blocks that geoip-lite maps to
 * them, real browser and crawler user agents, the shop's pages, and traffic sources with the
 * attribution GA4 gives them. traffic-catalog.test.ts proves the IP, UA and bot claims.
 */

export type DeviceCategory = 'desktop' | 'mobile' | 'tablet';

export interface CountryProfile {
  code: string;
  weight: number;
  languages: readonly string[];
  /** /24 prefixes ("a.b.c"); a visitor gets one host in one of them. */
  ipv4: readonly string[];
  /** /48 prefixes ("xxxx:xxxx:xxxx"); a visitor gets a random interface id below one of them. */
  ipv6: readonly string[];
}

export const COUNTRIES: readonly CountryProfile[] = [
  { code: 'US', weight: 34, languages: ['en-US', 'es-US'], ipv4: ['73.15.32', '73.162.9', '24.5.60', '98.207.10', '71.190.4'], ipv6: ['2600:1700:3d90'] },
  { code: 'GB', weight: 10, languages: ['en-GB'], ipv4: ['86.150.20', '81.2.69', '86.3.140', '2.24.100', '90.194.10'], ipv6: ['2a02:c7c:5a10'] },
  { code: 'DE', weight: 10, languages: ['de-DE', 'en-US'], ipv4: ['79.192.30', '91.64.12', '84.130.50', '87.123.4', '93.199.20'], ipv6: ['2003:e6:1f0a'] },
  { code: 'FR', weight: 7, languages: ['fr-FR'], ipv4: ['90.24.100', '86.246.30', '92.184.100', '82.64.20', '78.192.10'], ipv6: ['2a01:e0a:2f4'] },
  { code: 'JP', weight: 7, languages: ['ja-JP'], ipv4: ['126.15.20', '60.36.100', '153.156.3', '114.150.4', '61.205.10'], ipv6: ['2400:4050:a2c0'] },
  { code: 'BR', weight: 7, languages: ['pt-BR'], ipv4: ['177.32.10', '189.6.20', '201.6.30', '179.218.4', '187.20.100'], ipv6: ['2804:14c:5b80'] },
  { code: 'IN', weight: 9, languages: ['en-IN', 'hi-IN'], ipv4: ['49.36.10', '117.196.20', '106.205.3', '122.171.40', '59.95.100'], ipv6: ['2409:4060:2e1a'] },
  { code: 'CA', weight: 5, languages: ['en-CA', 'fr-CA'], ipv4: ['24.114.20', '99.224.10', '70.52.100', '142.112.3', '174.88.20'], ipv6: [] },
  { code: 'AU', weight: 4, languages: ['en-AU'], ipv4: ['101.160.20', '1.128.100', '120.148.10', '49.180.3', '110.175.20'], ipv6: [] },
  { code: 'ES', weight: 4, languages: ['es-ES'], ipv4: ['83.45.100', '88.6.20', '79.148.30', '80.28.10', '95.62.3'], ipv6: [] },
  { code: 'NL', weight: 3, languages: ['nl-NL', 'en-US'], ipv4: ['84.104.20', '145.130.10', '83.80.100', '77.166.3', '86.80.20'], ipv6: [] },
];

/** Share of visitors on IPv6 when their country has an IPv6 block. */
export const IPV6_SHARE = 0.2;

export interface BrowserProfile {
  weight: number;
  browser: string;
  ua: string;
}

export interface DeviceProfile {
  category: DeviceCategory;
  weight: number;
  browsers: readonly BrowserProfile[];
  screens: readonly string[];
}

export const DEVICES: readonly DeviceProfile[] = [
  {
    category: 'desktop',
    weight: 52,
    screens: ['1920x1080', '1536x864', '2560x1440', '1440x900', '1366x768'],
    browsers: [
      { weight: 40, browser: 'Chrome', ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36' },
      {
        weight: 15,
        browser: 'Chrome',
        ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
      },
      {
        weight: 14,
        browser: 'Safari',
        ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
      },
      {
        weight: 12,
        browser: 'Edge',
        ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80',
      },
      { weight: 12, browser: 'Firefox', ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0' },
      { weight: 7, browser: 'Firefox', ua: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0' },
    ],
  },
  {
    category: 'mobile',
    weight: 42,
    screens: ['390x844', '393x873', '412x915', '375x667', '360x800'],
    browsers: [
      {
        weight: 35,
        browser: 'Mobile Safari',
        ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
      },
      {
        weight: 8,
        browser: 'Chrome',
        ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1',
      },
      {
        weight: 27,
        browser: 'Chrome',
        ua: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
      },
      {
        weight: 24,
        browser: 'Chrome',
        ua: 'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
      },
      { weight: 6, browser: 'Firefox', ua: 'Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0' },
    ],
  },
  {
    category: 'tablet',
    weight: 6,
    screens: ['820x1180', '810x1080', '800x1280'],
    browsers: [
      {
        weight: 70,
        browser: 'Mobile Safari',
        ua: 'Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
      },
      {
        weight: 30,
        browser: 'Chrome',
        ua: 'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Safari/537.36',
      },
    ],
  },
];

export interface BotProfile {
  weight: number;
  name: string;
  ua: string;
  ipv4: readonly string[];
  /** A headless browser runs the page's tag like a visitor (first_visit, engagement); crawlers do not. */
  runsTag: boolean;
}

export const BOTS: readonly BotProfile[] = [
  { weight: 40, name: 'Googlebot', ua: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', ipv4: ['66.249.66'], runsTag: false },
  { weight: 20, name: 'bingbot', ua: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', ipv4: ['157.55.39'], runsTag: false },
  {
    weight: 25,
    name: 'HeadlessChrome',
    ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36',
    ipv4: ['34.86.12', '35.199.40'],
    runsTag: true,
  },
  { weight: 15, name: 'AhrefsBot', ua: 'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)', ipv4: ['54.36.148', '5.39.1'], runsTag: false },
];

export type PageKind = 'home' | 'listing' | 'product' | 'cart' | 'checkout' | 'blog';

export const PRODUCTS: readonly { slug: string; name: string }[] = [
  { slug: 'trail-runner-2', name: 'Trail Runner 2' },
  { slug: 'city-sneaker', name: 'City Sneaker' },
  { slug: 'merino-socks', name: 'Merino Socks (3 pack)' },
  { slug: 'rain-shell-jacket', name: 'Rain Shell Jacket' },
  { slug: 'daypack-20l', name: 'Daypack 20L' },
  { slug: 'insulated-bottle', name: 'Insulated Bottle' },
  { slug: 'running-cap', name: 'Running Cap' },
  { slug: 'fleece-hoodie', name: 'Fleece Hoodie' },
  { slug: 'hiking-boot-gtx', name: 'Hiking Boot GTX' },
  { slug: 'compression-tights', name: 'Compression Tights' },
  { slug: 'sun-glasses-sport', name: 'Sport Sunglasses' },
  { slug: 'headlamp-400', name: 'Headlamp 400' },
];

export const BLOG_POSTS: readonly { slug: string; title: string }[] = [
  { slug: 'how-to-choose-running-shoes', title: 'How to choose running shoes' },
  { slug: 'layering-for-winter-hikes', title: 'Layering for winter hikes' },
  { slug: 'first-trail-race-checklist', title: 'Your first trail race: a checklist' },
  { slug: 'caring-for-merino', title: 'Caring for merino wool' },
  { slug: 'spring-collection-2024', title: 'The spring collection is here' },
  { slug: 'packing-a-daypack', title: 'Packing a daypack' },
];

export const LISTING_QUERIES: readonly string[] = ['', '', '', '?category=shoes', '?category=apparel', '?sort=price_asc'];
export const PRODUCT_QUERIES: readonly string[] = ['', '', '', '', '', '?variant=blue'];

/** Where a visitor goes next from a page of this kind. */
export const NEXT_PAGE: Readonly<Record<PageKind, readonly { weight: number; kind: PageKind }[]>> = {
  home: [
    { weight: 50, kind: 'listing' },
    { weight: 20, kind: 'product' },
    { weight: 20, kind: 'blog' },
    { weight: 10, kind: 'cart' },
  ],
  listing: [
    { weight: 75, kind: 'product' },
    { weight: 10, kind: 'listing' },
    { weight: 10, kind: 'home' },
    { weight: 5, kind: 'cart' },
  ],
  product: [
    { weight: 35, kind: 'product' },
    { weight: 30, kind: 'cart' },
    { weight: 25, kind: 'listing' },
    { weight: 10, kind: 'home' },
  ],
  cart: [
    { weight: 60, kind: 'checkout' },
    { weight: 25, kind: 'product' },
    { weight: 15, kind: 'listing' },
  ],
  checkout: [
    { weight: 40, kind: 'home' },
    { weight: 60, kind: 'product' },
  ],
  blog: [
    { weight: 40, kind: 'blog' },
    { weight: 30, kind: 'product' },
    { weight: 20, kind: 'home' },
    { weight: 10, kind: 'listing' },
  ],
};

export interface TrafficSource {
  id: string;
  weight: number;
  /** What the landing event carries. */
  referrer: string | null;
  /** Campaign query appended to the landing URL ("" or "utm_...=..."); gclid sources add a generated gclid. */
  campaignQuery: string;
  gclid: boolean;
  landing: readonly { weight: number; kind: PageKind }[];
  /** Expected GA4 attribution of a session landing from this source. */
  source: string;
  medium: string;
  campaign: string;
  channelGroup: string;
}

export const TRAFFIC_SOURCES: readonly TrafficSource[] = [
  {
    id: 'direct',
    weight: 28,
    referrer: null,
    campaignQuery: '',
    gclid: false,
    landing: [
      { weight: 60, kind: 'home' },
      { weight: 20, kind: 'product' },
      { weight: 20, kind: 'listing' },
    ],
    source: '(direct)',
    medium: '(none)',
    campaign: '(direct)',
    channelGroup: 'Direct',
  },
  {
    id: 'google-organic',
    weight: 26,
    referrer: 'https://www.google.com/',
    campaignQuery: '',
    gclid: false,
    landing: [
      { weight: 40, kind: 'product' },
      { weight: 35, kind: 'blog' },
      { weight: 25, kind: 'home' },
    ],
    source: 'google',
    medium: 'organic',
    campaign: '(organic)',
    channelGroup: 'Organic Search',
  },
  {
    id: 'bing-organic',
    weight: 5,
    referrer: 'https://www.bing.com/',
    campaignQuery: '',
    gclid: false,
    landing: [
      { weight: 40, kind: 'product' },
      { weight: 35, kind: 'blog' },
      { weight: 25, kind: 'home' },
    ],
    source: 'bing',
    medium: 'organic',
    campaign: '(organic)',
    channelGroup: 'Organic Search',
  },
  {
    id: 'facebook',
    weight: 8,
    referrer: 'https://www.facebook.com/',
    campaignQuery: '',
    gclid: false,
    landing: [
      { weight: 60, kind: 'product' },
      { weight: 40, kind: 'blog' },
    ],
    source: 'facebook.com',
    medium: 'referral',
    campaign: '(referral)',
    channelGroup: 'Organic Social',
  },
  {
    id: 'newsletter',
    weight: 7,
    referrer: null,
    campaignQuery: 'utm_source=newsletter&utm_medium=email&utm_campaign=spring',
    gclid: false,
    landing: [
      { weight: 50, kind: 'listing' },
      { weight: 50, kind: 'product' },
    ],
    source: 'newsletter',
    medium: 'email',
    campaign: 'spring',
    channelGroup: 'Email',
  },
  {
    id: 'google-cpc-utm',
    weight: 8,
    referrer: 'https://www.google.com/',
    campaignQuery: 'utm_source=google&utm_medium=cpc&utm_campaign=brand',
    gclid: false,
    landing: [
      { weight: 60, kind: 'product' },
      { weight: 40, kind: 'listing' },
    ],
    source: 'google',
    medium: 'cpc',
    campaign: 'brand',
    channelGroup: 'Paid Search',
  },
  {
    id: 'the-verge',
    weight: 6,
    referrer: 'https://www.theverge.com/',
    campaignQuery: '',
    gclid: false,
    landing: [{ weight: 100, kind: 'blog' }],
    source: 'theverge.com',
    medium: 'referral',
    campaign: '(referral)',
    channelGroup: 'Referral',
  },
  {
    // auto-tagged ad click: the gclid wins over the google.com referrer
    id: 'google-ads-gclid',
    weight: 12,
    referrer: 'https://www.google.com/',
    campaignQuery: '',
    gclid: true,
    landing: [
      { weight: 60, kind: 'product' },
      { weight: 40, kind: 'listing' },
    ],
    source: 'google',
    medium: 'cpc',
    campaign: '(not set)',
    channelGroup: 'Paid Search',
  },
];

/** Relative traffic by local hour of day. */
export const HOUR_WEIGHTS: readonly number[] = [2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8, 7, 6, 4, 3];

export const SITE_NAME = 'Trailhead Outfitters';
