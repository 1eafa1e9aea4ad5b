import paramsData from './data/campaign-params.json' with { type: 'json' };
import enginesData from './data/search-engines.json' with { type: 'json' };
import { defaultChannelGroup, type ChannelGrouper } from './channel-group.js';
import { parsePageUrl, referrerHost } from './url.js';

/**
 * Event-level traffic attribution, GA4 style. Precedence:
 *   1. a Google Ads click id (gclid, wbraid, gbraid) on the page URL or in params -> google / cpc
 *      (GA4's default: auto-tagging beats manual tags; campaign/term/content still come from
 *      UTMs or params, since without an Ads link we cannot resolve the click id);
 *   2. utm_* on the page URL;
 *   3. campaign event params (gtag campaign_*, MP source/medium/campaign...);
 *   4. the referrer: a known search engine -> engine / organic, another external host ->
 *      host without "www." / referral;
 *   5. otherwise (no referrer, or one from the property's own hosts) -> (direct) / (none).
 * Values are kept as sent; the channel rules match them case-insensitively.
 */

export interface TrafficInput {
  pageUrl: string | null;
  referrer: string | null;
  params?: Record<string, unknown>;
  ownHosts?: string[];
}

export interface TrafficSource {
  source: string;
  medium: string;
  campaign: string;
  term: string;
  content: string;
  channelGroup: string;
}

type CampaignField = 'source' | 'medium' | 'campaign' | 'term' | 'content';
type Campaign = Partial<Record<CampaignField, string>>;

const FIELDS: readonly CampaignField[] = ['source', 'medium', 'campaign', 'term', 'content'];
const P = paramsData;
const NOT_SET = P.placeholders.notSet;
const TAGGED_WHEN = P.taggedWhenAnyOf as CampaignField[];
const URL_KEYS = P.pageUrlQuery as Record<CampaignField, string[]>;
const PARAM_KEYS = P.eventParams as Record<CampaignField, string[]>;

const ENGINES: readonly { name: string; hosts: RegExp[] }[] = enginesData.engines.map((e) => ({
  name: e.name,
  hosts: e.hosts.map((h) => new RegExp(h, 'i')),
}));

/** `group`: the property's channel group (default: GA4's Default Channel Group). */
export function attributeTraffic(input: TrafficInput, group: ChannelGrouper = defaultChannelGroup): TrafficSource {
  const page = parsePageUrl(input.pageUrl);
  const query = parseQuery(page.query);
  const params = input.params ?? {};

  const fromUrl = pick((k) => query.get(k), URL_KEYS);
  const fromParams = pick((k) => scalar(params[k]), PARAM_KEYS);
  const manual = isTagged(fromUrl) ? fromUrl : isTagged(fromParams) ? fromParams : null;

  const autoTagged = P.googleAdsClickIds.some((k) => nonEmpty(query.get(k)) !== undefined || nonEmpty(scalar(params[k])) !== undefined);
  if (autoTagged) {
    return finish(
      {
        ...(manual ?? {}),
        source: P.googleAds.source,
        medium: P.googleAds.medium,
      },
      true,
      group,
    );
  }
  if (manual !== null) return finish(manual, false, group);

  const host = referrerHost(input.referrer);
  if (host !== null && !isOwnHost(host, page.host, input.ownHosts)) {
    const engine = ENGINES.find((e) => e.hosts.some((re) => re.test(host)));
    if (engine !== undefined) {
      return finish({ source: engine.name, ...P.placeholders.organic }, false, group);
    }
    return finish({ source: stripPrefix(host), ...P.placeholders.referral }, false, group);
  }
  return finish({ ...P.placeholders.direct }, false, group);
}

function finish(c: Campaign, isAutoTaggedGoogleAds: boolean, group: ChannelGrouper): TrafficSource {
  const source = c.source ?? NOT_SET;
  const medium = c.medium ?? NOT_SET;
  const campaign = c.campaign ?? NOT_SET;
  return {
    source,
    medium,
    campaign,
    term: c.term ?? NOT_SET,
    content: c.content ?? NOT_SET,
    channelGroup: group({ source, medium, campaign, isAutoTaggedGoogleAds }),
  };
}

function pick(get: (key: string) => unknown, keys: Record<CampaignField, string[]>): Campaign {
  const out: Campaign = {};
  for (const f of FIELDS) {
    for (const k of keys[f]) {
      const v = nonEmpty(get(k));
      if (v !== undefined) {
        out[f] = v;
        break;
      }
    }
  }
  return out;
}

function isTagged(c: Campaign): boolean {
  return TAGGED_WHEN.some((f) => c[f] !== undefined);
}

/** First value per key, lowercased keys, `+` as space (application/x-www-form-urlencoded). */
function parseQuery(query: string | null): Map<string, string> {
  const out = new Map<string, string>();
  if (query === null) return out;
  for (const [k, v] of new URLSearchParams(query)) {
    const key = k.toLowerCase();
    if (!out.has(key)) out.set(key, v);
  }
  return out;
}

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function stripPrefix(host: string): string {
  const prefix = P.referrerSourceStripPrefix;
  return host.startsWith(prefix) && host.length > prefix.length ? host.slice(prefix.length) : host;
}

/** The referrer is the property itself: same host as the page, or an own host or its subdomain. */
function isOwnHost(host: string, pageHost: string | null, ownHosts: string[] | undefined): boolean {
  const h = stripPrefix(host);
  if (pageHost !== null && h === stripPrefix(pageHost)) return true;
  for (const own of ownHosts ?? []) {
    const o = stripPrefix(own.trim().toLowerCase());
    if (o !== '' && (h === o || h.endsWith(`.${o}`))) return true;
  }
  return false;
}
