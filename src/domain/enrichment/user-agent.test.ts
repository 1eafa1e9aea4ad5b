import { describe, expect, it } from 'vitest';
import { createUserAgentParser, parseUserAgent, type DeviceInfo } from './user-agent.js';

const d = (browser: string, browserVersion: string, os: string, osVersion: string, deviceCategory: DeviceInfo['deviceCategory']): DeviceInfo => ({
  browser,
  browserVersion,
  os,
  osVersion,
  deviceCategory,
});

// Real user agents as browsers send them; expected values are GA4's names.
const CASES: [label: string, ua: string, expected: DeviceInfo][] = [
  [
    'Chrome on Windows',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    d('Chrome', '124.0.0.0', 'Windows', '10', 'desktop'),
  ],
  [
    'Edge on Windows',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80',
    d('Edge', '124.0.2478.80', 'Windows', '10', 'desktop'),
  ],
  ['Firefox on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0', d('Firefox', '125.0', 'Windows', '10', 'desktop')],
  [
    'Safari on a Mac',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
    d('Safari', '17.4.1', 'Macintosh', '10.15.7', 'desktop'),
  ],
  [
    'Opera on Windows',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0',
    d('Opera', '109.0.0.0', 'Windows', '10', 'desktop'),
  ],
  [
    'Firefox on Ubuntu',
    'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0',
    d('Firefox', '124.0', 'Linux', '(not set)', 'desktop'),
  ],
  [
    'Chrome on a Chromebook',
    'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    d('Chrome', '124.0.0.0', 'Chrome OS', '14541.0.0', 'desktop'),
  ],
  ['Internet Explorer 11', 'Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko', d('Internet Explorer', '11.0', 'Windows', '10', 'desktop')],
  [
    'Safari on iPhone',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1',
    d('Safari', '17.4.1', 'iOS', '17.4.1', 'mobile'),
  ],
  [
    'Chrome on iPhone',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1',
    d('Chrome', '124.0.6367.88', 'iOS', '17.4', 'mobile'),
  ],
  [
    'Facebook in-app browser on iPhone',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/21D61 [FBAN/FBIOS;FBAV/455.0.0.38.106;FBBV/578936620;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.3.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/580253225]',
    d('Safari (in-app)', '455.0.0.38.106', 'iOS', '17.3.1', 'mobile'),
  ],
  [
    'Safari on iPad',
    'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
    d('Safari', '16.6', 'iOS', '16.6', 'tablet'),
  ],
  [
    'Chrome on an Android phone',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.113 Mobile Safari/537.36',
    d('Chrome', '124.0.6367.113', 'Android', '14', 'mobile'),
  ],
  [
    'Samsung Internet on a Galaxy phone',
    'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
    d('Samsung Internet', '24.0', 'Android', '14', 'mobile'),
  ],
  ['Firefox on an Android phone', 'Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0', d('Firefox', '125.0', 'Android', '14', 'mobile')],
  [
    'Android WebView',
    'Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36',
    d('Android Webview', '124.0.6367.82', 'Android', '13', 'mobile'),
  ],
  [
    'Chrome on a Galaxy Tab',
    'Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    d('Chrome', '124.0.0.0', 'Android', '13', 'tablet'),
  ],
  [
    'Samsung Internet on a Galaxy Tab',
    'Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36',
    d('Samsung Internet', '23.0', 'Android', '13', 'tablet'),
  ],
  [
    'Silk on a Kindle Fire',
    'Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/124.3.1 like Chrome/124.0.6367.118 Safari/537.36',
    d('Amazon Silk', '124.3.1', 'Android', '11', 'tablet'),
  ],
  [
    'Samsung smart TV (Tizen)',
    'Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36',
    d('Safari', '(not set)', 'Tizen', '6.0', 'smart tv'),
  ],
  [
    'LG smart TV (webOS)',
    'Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36 WebAppManager',
    d('Chrome', '79.0.3945.79', 'webOS', 'TV', 'smart tv'),
  ],
];

describe('parseUserAgent', () => {
  it.each(CASES)('%s', (_label, ua, expected) => {
    expect(parseUserAgent(ua)).toEqual(expected);
  });

  it('is (not set) everywhere for a missing or blank UA', () => {
    const none = d('(not set)', '(not set)', '(not set)', '(not set)', '(not set)');
    expect(parseUserAgent(null)).toEqual(none);
    expect(parseUserAgent('')).toEqual(none);
    expect(parseUserAgent('   ')).toEqual(none);
  });

  it('is (not set) for a UA with no recognisable browser or OS', () => {
    expect(parseUserAgent('curl/8.4.0').deviceCategory).toBe('(not set)');
    expect(parseUserAgent('asdf').browser).toBe('(not set)');
  });

  it('answers repeats from the cache', () => {
    const ua = CASES[0][1];
    const first = parseUserAgent(ua);
    expect(parseUserAgent(ua)).toBe(first);
  });

  it('keeps its cache bounded, evicting the oldest entry', () => {
    const parse = createUserAgentParser(2);
    const [a, b, c] = CASES.slice(0, 3).map(([, ua]) => ua);
    const pa = parse(a);
    parse(b);
    expect(parse(a)).toBe(pa);
    parse(c); // evicts a, the oldest insertion
    const pa2 = parse(a);
    expect(pa2).toEqual(pa);
    expect(pa2).not.toBe(pa);
  });
});
