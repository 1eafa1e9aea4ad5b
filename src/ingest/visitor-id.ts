import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { normalizeIp } from './ip.js';

/**
 * Cookieless visitor ids (Plausible, Umami, tally.js by default): an HMAC of property + IP + user
 * agent keyed by a salt of the UTC day. The salt is random, never derived from anything lasting,
 * and forgotten when its day ends, so yesterday's ids cannot be recomputed from today's data or
 * from any stored secret. The price: a visitor gets a new id at 00:00 UTC.
 *
 * One process: `MemorySaltStore`. Several collectors must share the day's salt: `SharedSaltStore`
 * over Redis (SET NX with an expiry at the end of the day), the first collector to need a day's
 * salt creates it, the others read it; Redis drops it at midnight UTC.
 */
export interface SaltStore {
  /** The salt of `day` (YYYY-MM-DD, UTC), created on first use. */
  saltFor(day: string, expiresAtMs: number): Promise<Buffer>;
}

export class MemorySaltStore implements SaltStore {
  private day = '';
  private salt: Promise<Buffer> | null = null;

  saltFor(day: string): Promise<Buffer> {
    if (day !== this.day || !this.salt) {
      this.day = day;
      this.salt = Promise.resolve(randomBytes(32));
    }
    return this.salt;
  }
}

/** The two Redis commands the shared store needs (ioredis' signatures). */
export interface SaltRedis {
  set(key: string, value: string, px: 'PXAT', at: number, nx: 'NX'): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

export class SharedSaltStore implements SaltStore {
  private cached: { day: string; salt: Promise<Buffer> } | null = null;

  constructor(
    private readonly redis: SaltRedis,
    private readonly prefix = 'tally:visitor-salt:',
  ) {}

  saltFor(day: string, expiresAtMs: number): Promise<Buffer> {
    if (this.cached?.day === day) return this.cached.salt;
    const salt = (async () => {
      const key = this.prefix + day;
      await this.redis.set(key, randomBytes(32).toString('base64'), 'PXAT', expiresAtMs, 'NX');
      const v = await this.redis.get(key);
      if (!v) throw new Error(`visitor salt ${key} vanished`);
      return Buffer.from(v, 'base64');
    })();
    this.cached = { day, salt };
    salt.catch(() => {
      if (this.cached?.salt === salt) this.cached = null;
    });
    return salt;
  }
}

export interface VisitorInput {
  propertyId: string;
  ip: string | null;
  userAgent: string | null;
}

export class VisitorIds {
  /** The composition root passes a shared store when collectors scale out. */
  constructor(private readonly store: SaltStore = new MemorySaltStore()) {}

  /** `cl_` + 32 hex chars; the same for the same property, IP and user agent within one UTC day. */
  async visitorId(v: VisitorInput, now: number): Promise<string> {
    const dayStart = Math.floor(now / 86_400_000) * 86_400_000;
    const day = new Date(dayStart).toISOString().slice(0, 10);
    const salt = await this.store.saltFor(day, dayStart + 86_400_000);
    const h = createHmac('sha256', salt)
      .update(`${v.propertyId}\n${v.ip ?? ''}\n${v.userAgent ?? ''}`)
      .digest('hex');
    return `cl_${h.slice(0, 32)}`;
  }
}

/**
 * The visitor IP a server-side sender forwards (`X-Forwarded-For`, as Plausible and Umami document),
 * when the collector does not already take it from a trusted proxy. A browser could set it too, but
 * only to change its own hash and geo.
 */
export function forwardedVisitorIp(req: IncomingMessage, trustProxy: boolean): string | null {
  if (trustProxy) return null;
  const v = req.headers['x-forwarded-for'];
  const first = (Array.isArray(v) ? v[0] : v)?.split(',')[0];
  return normalizeIp(first);
}
