import { TallyError } from '../infra/errors.js';
import { addDays, assertTimeZone, localMidnight, parseDate, weekday } from './local-time.js';
import { mix, Rng } from './prng.js';
import {
  BLOG_POSTS,
  BOTS,
  COUNTRIES,
  DEVICES,
  HOUR_WEIGHTS,
  IPV6_SHARE,
  LISTING_QUERIES,
  NEXT_PAGE,
  PRODUCT_QUERIES,
  PRODUCTS,
  SITE_NAME,
  TRAFFIC_SOURCES,
  type DeviceCategory,
  type PageKind,
  type TrafficSource,
} from './traffic-catalog.js';
import type { TrafficOptions } from './traffic-generator.js';

/**
 * The model shared by the generator and the ground truth. Everything is a pure function of the
 * options: a day's plan (which sessions start when, for whom) is regenerated on demand from
 * (seed, day), and a session's events from (seed, day, visitor, nth session of the day), so
 * neither side needs the whole dataset in memory.
 */

export interface ResolvedTrafficOptions {
  seed: number;
  startDate: string;
  days: number;
  timeZone: string;
  visitorsPerDay: number;
  hostName: string;
  botShare: number;
  duplicateShare: number;
  lateShare: number;
  sessionIdShare: number;
  window: { fromMs: number; toMs: number } | null;
}

/** Share of a day's visitors (after the first day) who were first seen on an earlier day. */
export const RETURNING_SHARE = 0.3;
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
/** No session lasts longer; with RETURN_EARLIEST this keeps sessions of one visitor > 30 min apart across midnight. */
export const MAX_SESSION_MS = 55 * MINUTE;
/** A returning visitor's first session of a day starts at least this long after local midnight. */
const RETURN_EARLIEST_MS = 95 * MINUTE;
const MIDNIGHT_SHARE = 0.003;
const LOGGED_IN_SHARE = 0.18;

export function resolveTrafficOptions(o: TrafficOptions): ResolvedTrafficOptions {
  const bad = (field: string, why: string): never => {
    throw new TallyError('invalid_argument', `traffic option ${field} ${why}`, { field });
  };
  if (!Number.isSafeInteger(o.seed)) bad('seed', 'must be a safe integer');
  parseDate(o.startDate);
  assertTimeZone(o.timeZone);
  if (!Number.isInteger(o.days) || o.days < 1 || o.days > 3660) bad('days', 'must be an integer in 1..3660');
  if (!Number.isFinite(o.visitorsPerDay) || o.visitorsPerDay < 1 || o.visitorsPerDay > 5_000_000) {
    bad('visitorsPerDay', 'must be in 1..5000000');
  }
  const host = o.hostName ?? 'shop.example.com';
  if (!/^[a-z0-9.-]+(:\d+)?$/i.test(host)) bad('hostName', 'must be a bare host name');
  const share = (field: string, v: number | undefined, dflt: number, max: number): number => {
    const x = v ?? dflt;
    if (!Number.isFinite(x) || x < 0 || x > max) bad(field, `must be in [0, ${max}]`);
    return x;
  };
  return {
    seed: o.seed,
    startDate: o.startDate,
    days: o.days,
    timeZone: o.timeZone,
    visitorsPerDay: o.visitorsPerDay,
    hostName: host,
    botShare: share('botShare', o.botShare, 0.05, 0.9),
    duplicateShare: share('duplicateShare', o.duplicateShare, 0.02, 1),
    lateShare: share('lateShare', o.lateShare, 0.03, 1),
    sessionIdShare: share('sessionIdShare', o.sessionIdShare, 0.5, 1),
    window: o.window ? { fromMs: o.window.fromMs, toMs: o.window.toMs } : null,
  };
}

export interface TrafficContext {
  opts: ResolvedTrafficOptions;
  seedKey: number;
  seedHex: string;
  /** Local dates of day 0 .. days+1 (the day after the last one holds sessions crossing its midnight). */
  dates: string[];
  /** Epoch ms of the local midnights of `dates`. */
  midnights: number[];
  visitorsOnDay: number[];
  /** Visitors first seen on day d have indices newBase[d] .. newBase[d+1]-1. */
  newBase: number[];
}

export function createContext(options: TrafficOptions): TrafficContext {
  const opts = resolveTrafficOptions(options);
  const seedKey = mix(opts.seed, 0x7a11);
  const dates: string[] = [];
  const midnights: number[] = [];
  for (let d = 0; d < opts.days + 2; d++) {
    dates.push(addDays(opts.startDate, d));
    midnights.push(localMidnight(dates[d], opts.timeZone));
  }
  const visitorsOnDay: number[] = [];
  const newBase: number[] = [0];
  for (let d = 0; d < opts.days; d++) {
    const rng = new Rng(mix(seedKey, 1, d));
    const wd = weekday(dates[d]);
    const weekFactor = wd === 0 || wd === 6 ? 0.85 : 1.06;
    const count = Math.max(1, Math.round(opts.visitorsPerDay * weekFactor * rng.uniform(0.92, 1.08)));
    visitorsOnDay.push(count);
    const returning = d === 0 ? 0 : Math.round(count * RETURNING_SHARE);
    newBase.push(newBase[d] + count - returning);
  }
  return { opts, seedKey, seedHex: hex(seedKey, 8), dates, midnights, visitorsOnDay, newBase };
}

export interface SessionPlan {
  day: number;
  /** Position in the day's plan, ordered by start time. */
  index: number;
  startMs: number;
  bot: boolean;
  /** Human visitor index, or the bot session's number within the day. */
  actor: number;
  /** The visitor's nth session of the day, from 0. */
  nth: number;
  firstEver: boolean;
  /** > 0 for the sessions forced to run past local midnight. */
  minDurationMs: number;
}

const HOURS = HOUR_WEIGHTS.map((weight, h) => ({ weight, h }));

function sampleOffset(rng: Rng, dayLen: number, earliest: number): number {
  for (let i = 0; i < 8; i++) {
    const hour = rng.weighted(HOURS).h;
    const off = Math.floor(((hour + rng.next()) * dayLen) / 24);
    if (off >= earliest) return off;
  }
  return earliest + rng.int(dayLen - earliest);
}

/** The sessions that start on day d, humans and bots, ordered by start time. */
export function planDay(ctx: TrafficContext, d: number): SessionPlan[] {
  const { opts, seedKey, newBase, midnights } = ctx;
  const rng = new Rng(mix(seedKey, 2, d));
  const dayStart = midnights[d];
  const dayLen = midnights[d + 1] - dayStart;
  const actors: { v: number; isNew: boolean }[] = [];
  for (let v = newBase[d]; v < newBase[d + 1]; v++) actors.push({ v, isNew: true });
  const pool = newBase[d];
  const returning = ctx.visitorsOnDay[d] - (newBase[d + 1] - newBase[d]);
  const seen = new Set<number>();
  for (let i = 0; i < returning && pool > 0; i++) {
    const r = rng.next();
    // skewed towards recent visitors
    const v = pool - 1 - Math.floor(pool * r * r);
    if (seen.has(v)) continue;
    seen.add(v);
    actors.push({ v, isNew: false });
  }

  const plans: SessionPlan[] = [];
  const forced = rng.int(actors.length);
  for (let j = 0; j < actors.length; j++) {
    const { v, isNew } = actors[j];
    const n = rng.chance(0.03) ? 3 : rng.chance(0.12) ? 2 : 1;
    if (j === forced || rng.chance(MIDNIGHT_SHARE)) {
      const offset = dayLen - rng.between(3 * MINUTE, 20 * MINUTE);
      plans.push({
        day: d,
        index: 0,
        startMs: dayStart + offset,
        bot: false,
        actor: v,
        nth: 0,
        firstEver: isNew,
        minDurationMs: dayLen - offset + rng.between(MINUTE, 10 * MINUTE),
      });
      continue;
    }
    let offset = sampleOffset(rng, dayLen, isNew ? 0 : RETURN_EARLIEST_MS);
    for (let k = 0; k < n && offset < dayLen; k++) {
      plans.push({
        day: d,
        index: 0,
        startMs: dayStart + offset,
        bot: false,
        actor: v,
        nth: k,
        firstEver: isNew && k === 0,
        minDurationMs: 0,
      });
      offset += MAX_SESSION_MS + rng.between(35 * MINUTE, 5 * HOUR);
    }
  }

  const bots = opts.botShare > 0 ? Math.round((plans.length * opts.botShare) / (1 - opts.botShare)) : 0;
  for (let i = 0; i < bots; i++) {
    plans.push({
      day: d,
      index: 0,
      startMs: dayStart + rng.int(dayLen - 10 * MINUTE),
      bot: true,
      actor: i,
      nth: 0,
      firstEver: false,
      minDurationMs: 0,
    });
  }
  plans.sort((a, b) => a.startMs - b.startMs);
  for (let i = 0; i < plans.length; i++) plans[i].index = i;
  return plans;
}

export interface VisitorModel {
  clientId: string;
  userId: string | null;
  sendsSessionId: boolean;
  country: string;
  deviceCategory: DeviceCategory;
  browser: string;
  ua: string;
  ip: string;
  language: string;
  screen: string;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Bijective on 32 bits, so distinct inputs give distinct client ids. */
function idNumber(ctx: TrafficContext, n: number): number {
  return (Math.imul(n, 0x9e3779b1) + ctx.seedKey) >>> 0;
}

function creationDay(ctx: TrafficContext, v: number): number {
  let lo = 0;
  let hi = ctx.opts.days - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.newBase[mid] <= v) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function humanVisitor(ctx: TrafficContext, v: number): VisitorModel {
  const rng = new Rng(mix(ctx.seedKey, 3, v));
  const id = idNumber(ctx, 2 * v);
  const country = rng.weighted(COUNTRIES);
  const device = rng.weighted(DEVICES);
  const browser = rng.weighted(device.browsers);
  const ip =
    country.ipv6.length > 0 && rng.chance(IPV6_SHARE)
      ? `${rng.pick(country.ipv6)}:${hex(rng.int(0x10000), 1)}:${hex(rng.int(0x10000), 1)}:${hex(rng.int(0x10000), 1)}:${hex(rng.int(0x10000), 1)}:${hex(1 + rng.int(0xffff), 1)}`
      : `${rng.pick(country.ipv4)}.${rng.between(1, 254)}`;
  const firstSeen = Math.floor(ctx.midnights[creationDay(ctx, v)] / 1000);
  return {
    clientId: `${id}.${firstSeen}`,
    userId: rng.chance(LOGGED_IN_SHARE) ? `u_${id.toString(36)}` : null,
    sendsSessionId: rng.chance(ctx.opts.sessionIdShare),
    country: country.code,
    deviceCategory: device.category,
    browser: browser.browser,
    ua: browser.ua,
    ip,
    language: rng.pick(country.languages),
    screen: rng.pick(device.screens),
  };
}

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

function onPage(rng: Rng, share: number, page: Page, url: string, name: string, ts: number, params: ModelEvent['params'], engagementMsec = 0): ModelEvent {
  return { name, ts, path: page.path, url, title: page.title, referrer: null, params, engagementMsec, resendDelayMs: resendDelay(rng, share) };
}

function sessionRng(ctx: TrafficContext, plan: SessionPlan): Rng {
  return new Rng(mix(ctx.seedKey, 4, plan.day, plan.bot ? 1 : 0, plan.actor, plan.nth));
}

/** All events of one planned session, in time order. */
/** Whether every event of the session happens inside the options' window (always, without one). */
export function withinWindow(ctx: TrafficContext, s: SessionModel): boolean {
  const w = ctx.opts.window;
  return !w || s.events.every((e) => e.ts >= w.fromMs && e.ts <= w.toMs);
}

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
    events.push({
      name: 'first_visit',
      ts: t,
      path: page.path,
      url: landingUrl,
      title: page.title,
      referrer: source.referrer,
      params: null,
      engagementMsec: 0,
      resendDelayMs: resendDelay(rng, share),
    });
  }

  for (let p = 0; ; p++) {
    const url = p === 0 ? landingUrl : base + page.path + page.query;
    let dwell = dwellFor(rng, shape);
    if (page.kind === 'checkout') dwell = Math.max(dwell, 6_000);
    events.push({
      name: 'page_view',
      ts: t,
      path: page.path,
      url,
      title: page.title,
      referrer: p === 0 ? source.referrer : null,
      params: null,
      engagementMsec: 0,
      resendDelayMs: resendDelay(rng, share),
    });
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
    if (p === 0 && bot.runsTag) {
      events.push({
        name: 'first_visit',
        ts: t,
        path: page.path,
        url,
        title: page.title,
        referrer: null,
        params: null,
        engagementMsec: 0,
        resendDelayMs: resendDelay(rng, share),
      });
    }
    events.push({
      name: 'page_view',
      ts: t,
      path: page.path,
      url,
      title: page.title,
      referrer: null,
      params: null,
      engagementMsec: 0,
      resendDelayMs: resendDelay(rng, share),
    });
    const dwell = rng.between(500, 5_000);
    if (bot.runsTag) {
      const msec = Math.floor(dwell * 0.9);
      events.push({
        name: 'user_engagement',
        ts: t + dwell,
        path: page.path,
        url,
        title: page.title,
        referrer: null,
        params: { engagement_time_msec: msec },
        engagementMsec: msec,
        resendDelayMs: resendDelay(rng, share),
      });
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
