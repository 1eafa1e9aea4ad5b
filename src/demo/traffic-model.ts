import { TallyError } from '../infra/errors.js';
import { addDays, assertTimeZone, localMidnight, parseDate, weekday } from './local-time.js';
import { mix, Rng } from './prng.js';
import { COUNTRIES, DEVICES, HOUR_WEIGHTS, IPV6_SHARE, type DeviceCategory } from './traffic-catalog.js';

/**
 * The model shared by the generator and the ground truth. Everything is a pure function of the
 * options: a day's plan (which sessions start when, for whom) is regenerated on demand from
 * (seed, day), and a session's events from (seed, day, visitor, nth session of the day), so
 * neither side needs the whole dataset in memory. This file: the options, a day's plan and the
 * visitors; `traffic-sessions.ts` expands a planned session into its events.
 */

/** What to generate: `generateTraffic` (traffic-generator.ts) and `groundTruth` take these. */
export interface TrafficOptions {
  seed: number;
  /** YYYY-MM-DD, property-local. */
  startDate: string;
  days: number;
  /** IANA zone of the property. */
  timeZone: string;
  visitorsPerDay: number;
  /** Default 'shop.example.com'. */
  hostName?: string;
  /** Share of sessions from bots. Default 0.05. */
  botShare?: number;
  /** Share of events the client sends twice. Default 0.02. */
  duplicateShare?: number;
  /** Share of sessions sent 1–60 h after they happened. Default 0.03. */
  lateShare?: number;
  /** Share of visitors whose client sends a session_id. Default 0.5. */
  sessionIdShare?: number;
  /**
   * Only sessions whose every event happens in [fromMs, toMs] (epoch ms): a demo "until now"
   * leaves out the sessions still to come today, from the traffic and its ground truth alike.
   */
  window?: { fromMs: number; toMs: number };
}

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
  // one day's session plan; the caller's argument order keeps the rng's draw order
  const plan = (offset: number, bot: boolean, actor: number, nth: number, firstEver: boolean, minDurationMs = 0): SessionPlan => ({
    day: d,
    index: 0,
    startMs: dayStart + offset,
    bot,
    actor,
    nth,
    firstEver,
    minDurationMs,
  });
  const forced = rng.int(actors.length);
  for (let j = 0; j < actors.length; j++) {
    const { v, isNew } = actors[j];
    const n = rng.chance(0.03) ? 3 : rng.chance(0.12) ? 2 : 1;
    if (j === forced || rng.chance(MIDNIGHT_SHARE)) {
      const offset = dayLen - rng.between(3 * MINUTE, 20 * MINUTE);
      plans.push(plan(offset, false, v, 0, isNew, dayLen - offset + rng.between(MINUTE, 10 * MINUTE)));
      continue;
    }
    let offset = sampleOffset(rng, dayLen, isNew ? 0 : RETURN_EARLIEST_MS);
    for (let k = 0; k < n && offset < dayLen; k++) {
      plans.push(plan(offset, false, v, k, isNew && k === 0));
      offset += MAX_SESSION_MS + rng.between(35 * MINUTE, 5 * HOUR);
    }
  }

  const bots = opts.botShare > 0 ? Math.round((plans.length * opts.botShare) / (1 - opts.botShare)) : 0;
  for (let i = 0; i < bots; i++) {
    plans.push(plan(rng.int(dayLen - 10 * MINUTE), true, i, 0, false));
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

export function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Bijective on 32 bits, so distinct inputs give distinct client ids. */
export function idNumber(ctx: TrafficContext, n: number): number {
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
