import { isbot, list as isbotList } from 'isbot';
import isbotPackage from 'isbot/package.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import isbotSnapshot from './data/isbot-patterns.json' with { type: 'json' };
import { botVerdict } from './bot.js';

const CHROME_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1';
const SAMSUNG_ANDROID =
  'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const BINGBOT = 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)';
const HEADLESS = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36';

const HUMAN = { isBot: false, reason: null };

describe('botVerdict', () => {
  it.each([CHROME_WIN, SAFARI_IPHONE, SAMSUNG_ANDROID])('a real browser is human from any source: %s', (ua) => {
    expect(botVerdict(ua, 'request')).toEqual(HUMAN);
    expect(botVerdict(ua, 'payload')).toEqual(HUMAN);
  });

  it.each([
    ['Googlebot', GOOGLEBOT],
    ['bingbot', BINGBOT],
    ['AhrefsBot', 'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)'],
    ['GPTBot', 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)'],
  ])('%s is a ua_bot', (_name, ua) => {
    expect(botVerdict(ua, 'request')).toEqual({ isBot: true, reason: 'ua_bot' });
    expect(botVerdict(ua, 'payload')).toEqual({ isBot: true, reason: 'ua_bot' });
  });

  it.each([
    HEADLESS,
    'Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1',
    `${CHROME_WIN} Puppeteer`,
    `${CHROME_WIN} Playwright/1.43`,
    `${CHROME_WIN} Selenium`,
    'Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse',
  ])('headless browsers are reported as headless: %s', (ua) => {
    expect(botVerdict(ua, 'request')).toEqual({ isBot: true, reason: 'headless' });
  });

  it.each(['curl/8.4.0', 'Wget/1.21.4', 'python-requests/2.31.0', 'Go-http-client/1.1', 'Java/17.0.1', 'okhttp/4.12.0', 'axios/1.6.8'])(
    'script clients seen on the request are data-centre traffic: %s',
    (ua) => {
      expect(botVerdict(ua, 'request')).toEqual({ isBot: true, reason: 'datacenter_signature' });
    },
  );

  it.each([
    'ELB-HealthChecker/2.0',
    'GoogleHC/1.0',
    'Amazon-Route53-Health-Check-Service (ref 5fa; report http://amzn.to/1vsZADi)',
    'kube-probe/1.29',
    'Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)',
    'Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)',
    'Datadog/Synthetics',
  ])('health checkers and uptime monitors are data-centre traffic from any source: %s', (ua) => {
    expect(botVerdict(ua, 'request')).toEqual({ isBot: true, reason: 'datacenter_signature' });
    expect(botVerdict(ua, 'payload')).toEqual({ isBot: true, reason: 'datacenter_signature' });
  });

  it('a script UA stated in the payload is still judged, by isbot', () => {
    expect(botVerdict('curl/8.4.0', 'payload')).toEqual({ isBot: true, reason: 'ua_bot' });
  });

  it.each(['node', 'undici', 'python-requests/2.31.0', 'analytics-node-next/1.0.0', 'posthog-node/4.0.1', 'curl/8.4.0', GOOGLEBOT, HEADLESS, '', null])(
    'server-to-server senders (uaSource none) are never bots on UA grounds: %j',
    (ua) => {
      expect(botVerdict(ua, 'none')).toEqual(HUMAN);
    },
  );

  it('the senders would be bots if they claimed to be the visitor (why uaSource matters)', () => {
    for (const ua of ['node', 'undici', 'analytics-node-next/1.0.0', 'posthog-node/4.0.1']) {
      expect(isbot(ua)).toBe(true);
      expect(botVerdict(ua, 'payload').isBot).toBe(true);
    }
  });

  it('an empty UA on the request is a bot; an absent one in the payload is not judged', () => {
    expect(botVerdict('', 'request')).toEqual({ isBot: true, reason: 'empty_ua' });
    expect(botVerdict('  ', 'request')).toEqual({ isBot: true, reason: 'empty_ua' });
    expect(botVerdict(null, 'request')).toEqual({ isBot: true, reason: 'empty_ua' });
    expect(botVerdict(null, 'payload')).toEqual(HUMAN);
  });
});

describe('isbot snapshot for the Spark job', () => {
  it('data/isbot-patterns.json equals the installed isbot list (regenerate it when isbot changes)', () => {
    expect(isbotSnapshot.version).toBe(isbotPackage.version);
    expect(isbotSnapshot.patterns).toEqual(isbotList);
  });

  it('the snapshot joined as documented judges like isbot', () => {
    const re = new RegExp(isbotSnapshot.patterns.join(isbotSnapshot.join), isbotSnapshot.flags);
    for (const ua of [CHROME_WIN, SAFARI_IPHONE, SAMSUNG_ANDROID, GOOGLEBOT, BINGBOT, HEADLESS, 'node', 'Mozilla/5.0']) {
      expect(re.test(ua)).toBe(isbot(ua));
    }
  });
});
