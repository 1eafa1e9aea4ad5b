import { mix, Rng } from './prng.js';
import {
  BLOG_POSTS,
  BOTS,
  LISTING_QUERIES,
  NEXT_PAGE,
  PRODUCT_QUERIES,
  PRODUCTS,
  SITE_NAME,
  TRAFFIC_SOURCES,
  type PageKind,
  type TrafficSource,
} from './traffic-catalog.js';
import { HOUR, hex, humanVisitor, idNumber, MINUTE, type SessionPlan, type TrafficContext, type VisitorModel } from './traffic-model.js';

/**
 * A planned session (`traffic-model.ts`) expanded into its events: pages, dwell times,
 * engagement, resends and late sends, for humans and bots. A pure function of (seed, plan).
 */

export interface ModelEvent {
  name: string;
  ts: number;
  path: string;
  url: string;
  title: string;
  referrer: string | null;
  params: Record<string, string | number | boolean> | null;
  engagementMsec: number;
  /** > 0: the client sends this event a second time, this long after the first send. */
  resendDelayMs: number;
}

export interface SessionModel {
  plan: SessionPlan;
  visitor: VisitorModel;
  botName: string | null;
  /** GA-style: epoch seconds of the session start, when the visitor's client sends one. */
  clientSessionId: string | null;
  /** null for bots. */
  source: TrafficSource | null;
  late: boolean;
  /** Every event of a late session is sent this long after it happened. */
  sendDelayMs: number;
  events: ModelEvent[];
}

interface Page {
  kind: PageKind;
  path: string;
  query: string;
  title: string;
}

function makePage(rng: Rng, kind: PageKind): Page {
  switch (kind) {
    case 'home':
      return { kind, path: '/', query: '', title: `${SITE_NAME} — Outdoor gear` };
    case 'listing':
      return { kind, path: '/products', query: rng.pick(LISTING_QUERIES), title: `All products — ${SITE_NAME}` };
    case 'product': {
      const p = rng.pick(PRODUCTS);
      return { kind, path: `/products/${p.slug}`, query: rng.pick(PRODUCT_QUERIES), title: `${p.name} — ${SITE_NAME}` };
    }
    case 'cart':
      return { kind, path: '/cart', query: '', title: `Your cart — ${SITE_NAME}` };
    case 'checkout':
      return { kind, path: '/checkout', query: '', title: `Checkout — ${SITE_NAME}` };
    case 'blog': {
      const b = rng.pick(BLOG_POSTS);
      return { kind, path: `/blog/${b.slug}`, query: '', title: `${b.title} — ${SITE_NAME} Journal` };
    }
  }
}

const GCLID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

function withQuery(query: string, extra: string): string {
  if (!extra) return query;
  return query ? `${query}&${extra}` : `?${extra}`;
}

type SessionShape = 'bounce' | 'short' | 'long' | 'multi' | 'midnight';

function pickShape(rng: Rng, plan: SessionPlan): SessionShape {
  if (plan.minDurationMs > 0) return 'midnight';
  const r = rng.next();
  return r < 0.22 ? 'bounce' : r < 0.4 ? 'short' : r < 0.52 ? 'long' : 'multi';
}

function dwellFor(rng: Rng, shape: SessionShape): number {
  switch (shape) {
    case 'bounce':
      return 0;
    // single-page sessions stay clear of the 10 s engagement threshold on either side
    case 'short':
      return rng.between(2_000, 8_999);
    case 'long':
      return rng.between(11_000, 6 * MINUTE);
    case 'midnight':
      return rng.between(2 * MINUTE, 8 * MINUTE);
    case 'multi':
      if (rng.chance(0.05)) return rng.between(5 * MINUTE, 15 * MINUTE);
      return Math.min(15 * MINUTE, 3_000 + Math.floor(-Math.log(1 - rng.next()) * 45_000));
  }
}

function resendDelay(rng: Rng, share: number): number {
  return rng.chance(share) ? rng.between(1_000, 120_000) : 0;
}

function byTime(a: ModelEvent, b: ModelEvent): number {
  return a.ts - b.ts;
}

function onPage(
  rng: Rng,
  share: number,
  page: Page,
  url: string,
  name: string,
  ts: number,
  params: ModelEvent['params'],
  engagementMsec = 0,
  referrer: string | null = null,
): ModelEvent {
  return { name, ts, path: page.path, url, title: page.title, referrer, params, engagementMsec, resendDelayMs: resendDelay(rng, share) };
}

function sessionRng(ctx: TrafficContext, plan: SessionPlan): Rng {
  return new Rng(mix(ctx.seedKey, 4, plan.day, plan.bot ? 1 : 0, plan.actor, plan.nth));
}

/** Whether every event of the session happens inside the options' window (always, without one). */
export function withinWindow(ctx: TrafficContext, s: SessionModel): boolean {
  const w = ctx.opts.window;
  return !w || s.events.every((e) => e.ts >= w.fromMs && e.ts <= w.toMs);
}

/** All events of one planned session, in time order. */
export function expandSession(ctx: TrafficContext, plan: SessionPlan): SessionModel {
  return plan.bot ? expandBot(ctx, plan) : expandHuman(ctx, plan);
}

function expandHuman(ctx: TrafficContext, plan: SessionPlan): SessionModel {
  const { opts } = ctx;
  const rng = sessionRng(ctx, plan);
  const visitor = humanVisitor(ctx, plan.actor);
  const base = `https://${opts.hostName}`;
  const source = rng.weighted(TRAFFIC_SOURCES);
  const shape = pickShape(rng, plan);
  const pageTarget = shape === 'multi' ? Math.min(14, 2 + Math.floor(-Math.log(1 - rng.next()) * 2.5)) : 1;
  const share = opts.duplicateShare;
  const events: ModelEvent[] = [];
  const start = plan.startMs;
  let page = makePage(rng, rng.weighted(source.landing).kind);
  let t = start;

  let campaign = source.campaignQuery;
  if (source.gclid) {
    let g = 'Cj0KCQiA';
    for (let i = 0; i < 40; i++) g += GCLID_CHARS[rng.int(GCLID_CHARS.length)];
    campaign = `gclid=${g}`;
  }
  const landingUrl = base + page.path + withQuery(page.query, campaign);
  if (plan.firstEver) {
    events.push(onPage(rng, share, page, landingUrl, 'first_visit', t, null, 0, source.referrer));
  }

  for (let p = 0; ; p++) {
    const url = p === 0 ? landingUrl : base + page.path + page.query;
    let dwell = dwellFor(rng, shape);
    if (page.kind === 'checkout') dwell = Math.max(dwell, 6_000);
    events.push(onPage(rng, share, page, url, 'page_view', t, null, 0, p === 0 ? source.referrer : null));
    // only the landing event carries the campaign; later events on the landing page use the clean URL
    const pageUrl = base + page.path + page.query;
    const during: ModelEvent[] = [];
    if (dwell >= 3_000 && rng.chance(0.45)) {
      during.push(onPage(rng, share, page, pageUrl, 'scroll', t + Math.floor(dwell * rng.uniform(0.3, 0.8)), { percent_scrolled: 90 }));
    }
    if (dwell >= 3_000 && rng.chance(0.15)) {
      during.push(
        onPage(rng, share, page, pageUrl, 'click', t + Math.floor(dwell * rng.uniform(0.5, 0.95)), {
          link_url: 'https://www.instagram.com/trailhead.outfitters/',
          link_domain: 'www.instagram.com',
          outbound: true,
        }),
      );
    }
    if (page.kind === 'checkout' && rng.chance(0.55)) {
      during.push(
        onPage(rng, share, page, pageUrl, 'purchase', t + Math.floor(dwell * rng.uniform(0.4, 0.7)), {
          transaction_id: `T-${ctx.seedHex}-${plan.day}-${plan.actor}-${plan.nth}-${p}`,
          value: rng.between(1_500, 45_000) / 100,
          currency: 'USD',
        }),
      );
    }
    if (during.length > 1) during.sort(byTime);
    for (const e of during) events.push(e);
    if (dwell > 0) {
      const msec = Math.max(1, Math.floor(dwell * rng.uniform(0.55, 0.98)));
      events.push(onPage(rng, share, page, pageUrl, 'user_engagement', t + dwell, { engagement_time_msec: msec }, msec));
    }

    const next = t + dwell + rng.between(200, 1_500);
    const more = shape === 'multi' ? p + 1 < pageTarget && next - start <= 40 * MINUTE : shape === 'midnight' ? t + dwell - start < plan.minDurationMs : false;
    if (!more) break;
    t = next;
    page = makePage(rng, rng.weighted(NEXT_PAGE[page.kind]).kind);
  }

  const late = rng.chance(opts.lateShare);
  return {
    plan,
    visitor,
    botName: null,
    clientSessionId: visitor.sendsSessionId ? String(Math.floor(start / 1000)) : null,
    source,
    late,
    sendDelayMs: late ? rng.between(HOUR, 60 * HOUR) : 0,
    events,
  };
}

const BOT_PAGES: readonly PageKind[] = ['home', 'listing', 'product', 'product', 'product', 'blog'];

function expandBot(ctx: TrafficContext, plan: SessionPlan): SessionModel {
  const { opts } = ctx;
  const rng = sessionRng(ctx, plan);
  const bot = rng.weighted(BOTS);
  // crawlers keep no cookies: every bot session is a new client
  const id = idNumber(ctx, 2 * (plan.day * 0x100000 + plan.actor) + 1);
  const visitor: VisitorModel = {
    clientId: `${id}.${Math.floor(plan.startMs / 1000)}`,
    userId: null,
    sendsSessionId: false,
    country: 'US',
    deviceCategory: 'desktop',
    browser: bot.name,
    ua: bot.ua,
    ip: `${rng.pick(bot.ipv4)}.${rng.between(1, 254)}`,
    language: 'en-US',
    screen: bot.runsTag ? '800x600' : '',
  };
  const base = `https://${opts.hostName}`;
  const share = opts.duplicateShare;
  const events: ModelEvent[] = [];
  const pages = rng.between(1, 12);
  let t = plan.startMs;
  for (let p = 0; p < pages; p++) {
    const page = makePage(rng, rng.pick(BOT_PAGES));
    const url = base + page.path + page.query;
    if (p === 0 && bot.runsTag) events.push(onPage(rng, share, page, url, 'first_visit', t, null));
    events.push(onPage(rng, share, page, url, 'page_view', t, null));
    const dwell = rng.between(500, 5_000);
    if (bot.runsTag) {
      const msec = Math.floor(dwell * 0.9);
      events.push(onPage(rng, share, page, url, 'user_engagement', t + dwell, { engagement_time_msec: msec }, msec));
    }
    t += dwell + rng.between(100, 1_000);
  }
  const late = rng.chance(opts.lateShare);
  return {
    plan,
    visitor,
    botName: bot.name,
    clientSessionId: null,
    source: null,
    late,
    sendDelayMs: late ? rng.between(HOUR, 60 * HOUR) : 0,
    events,
  };
}

const HEX4: readonly string[] = Array.from({ length: 0x10000 }, (_, i) => hex(i, 4));
const HEX3: readonly string[] = Array.from({ length: 0x1000 }, (_, i) => hex(i, 3));

/**
 * UUID-shaped event ids for one session, unique within a dataset by construction: they spell
 * out seed, day, the session's place in the day and the event's place in the session.
 */
export function sessionEventIds(ctx: TrafficContext, day: number, sessionIndex: number, count: number): string[] {
  const salt = mix(ctx.seedKey, 5, day, sessionIndex);
  const head = `${ctx.seedHex}-${HEX4[day & 0xffff]}-4`;
  const session = hex(sessionIndex >>> 0, 8);
  const ids: string[] = new Array<string>(count);
  for (let seq = 0; seq < count; seq++) {
    const r = Math.imul(salt ^ seq, 0x9e3779b1) >>> 0;
    ids[seq] = `${head}${HEX3[r & 0xfff]}-${HEX4[0x8000 | ((r >>> 12) & 0x3fff)]}-${session}${HEX4[seq & 0xffff]}`;
  }
  return ids;
}
