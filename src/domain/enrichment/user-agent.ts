import { UAParser } from 'ua-parser-js';
import names from './data/user-agent-names.json' with { type: 'json' };

/**
 * Browser, OS and device category with GA4's names, from ua-parser-js 1.x (MIT; 2.x is AGPL
 * and must not be used). ua-parser-js names are mapped to GA4's by data/user-agent-names.json.
 */

export type DeviceCategory = 'desktop' | 'mobile' | 'tablet' | 'smart tv' | '(not set)';

export interface DeviceInfo {
  browser: string;
  browserVersion: string;
  os: string;
  osVersion: string;
  deviceCategory: DeviceCategory;
}

const NOT_SET = names.notSet as '(not set)';
const BROWSER: Record<string, string> = names.browser;
const BROWSER_BY_OS: Record<string, Record<string, string>> = names.browserByOs;
const OS: Record<string, string> = names.os;
const DEVICE_TYPE = names.deviceType as Record<string, DeviceCategory>;

const UNKNOWN: DeviceInfo = Object.freeze({
  browser: NOT_SET,
  browserVersion: NOT_SET,
  os: NOT_SET,
  osVersion: NOT_SET,
  deviceCategory: NOT_SET,
});

/**
 * A parser with its own bounded cache (oldest entry evicted first): the transform calls it once
 * per distinct UA, and ua-parser-js costs ~0.1 ms a call.
 */
export function createUserAgentParser(cacheLimit: number): (ua: string | null) => DeviceInfo {
  const cache = new Map<string, DeviceInfo>();
  return (ua) => {
    if (ua === null || ua === undefined || ua.trim() === '') return UNKNOWN;
    const hit = cache.get(ua);
    if (hit !== undefined) return hit;
    const info = parse(ua);
    if (cache.size >= cacheLimit) cache.delete(cache.keys().next().value as string);
    cache.set(ua, info);
    return info;
  };
}

const cached = createUserAgentParser(50_000);

export function parseUserAgent(ua: string | null): DeviceInfo {
  return cached(ua);
}

function parse(ua: string): DeviceInfo {
  const r = new UAParser(ua).getResult();
  const rawOs = r.os.name;
  const rawBrowser = r.browser.name;
  const os = rawOs ? (OS[rawOs] ?? rawOs) : NOT_SET;
  const browser = rawBrowser ? (BROWSER_BY_OS[os]?.[rawBrowser] ?? BROWSER[rawBrowser] ?? rawBrowser) : NOT_SET;
  const type = r.device.type ? DEVICE_TYPE[r.device.type] : undefined;
  const recognised = Boolean(rawOs || rawBrowser);
  return Object.freeze({
    browser,
    browserVersion: rawBrowser && r.browser.version ? r.browser.version : NOT_SET,
    os,
    osVersion: rawOs && r.os.version ? r.os.version : NOT_SET,
    deviceCategory: type ?? (recognised ? 'desktop' : NOT_SET),
  });
}
