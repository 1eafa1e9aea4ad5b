import { Redis } from 'ioredis';
import type { Counters, TakeResult } from './counters.port.js';
import type { Logger } from '../logger.js';
import { TallyError } from '../errors.js';

export interface RedisCountersOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Namespaces every counter key. */
  prefix?: string;
  /** A take that Redis has not answered by then is allowed (fail open). */
  timeoutMs?: number;
  logger?: Logger;
  now?: () => number;
}

/**
 * KEYS[1] the window's key; ARGV: n, limit, ms until the key may expire.
 * Returns {1, count} when taken, {0, count} when refused (nothing taken).
 */
const TAKE = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if count + n > tonumber(ARGV[2]) then return {0, count} end
count = redis.call('INCRBY', KEYS[1], n)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, count}
`;

/** Keys outlive their window by this much, so a collector whose clock is a little behind still finds them. */
const EXPIRY_SLACK_MS = 5_000;
const WARN_EVERY_MS = 10_000;

type WithTake = Redis & { tallyTake(key: string, n: number, limit: number, ttlMs: number): Promise<[number, number]> };

/**
 * Fixed-window counters in Redis, shared by every collector: one key per key and window
 * (`prefix:key:windowMs:windowStart`), checked and incremented by one Lua script, so concurrent
 * takes from many processes never go past the limit. Windows follow the caller's clock.
 * When Redis is unreachable or slow, takes are allowed (fail open) with a warning: a quota must
 * not turn a Redis outage into an ingest outage.
 */
export class RedisCounters implements Counters {
  private readonly redis: WithTake;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly firstReady: Promise<void>;
  private everReady = false;
  private readonly createdAt = Date.now();
  private failedOpen = 0;
  private lastWarn = 0;

  constructor(opts: RedisCountersOptions) {
    this.prefix = opts.prefix ?? 'tally:counters';
    this.timeoutMs = opts.timeoutMs ?? 250;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    // no offline queue: a take that cannot be sent now fails open now, and is never replayed later
    this.redis = new Redis(opts.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: this.timeoutMs }) as WithTake;
    this.redis.defineCommand('tallyTake', { numberOfKeys: 1, lua: TAKE });
    this.redis.on('error', () => undefined);
    this.firstReady = new Promise((resolve) =>
      this.redis.once('ready', () => {
        this.everReady = true;
        resolve();
      }),
    );
  }

  async take(key: string, n: number, limit: number, windowMs: number): Promise<TakeResult> {
    const now = this.now();
    const start = now - (now % windowMs);
    const end = start + windowMs;
    try {
      await this.connected();
      const [taken] = await this.redis.tallyTake(this.key(key, windowMs, start), n, limit, end - now + EXPIRY_SLACK_MS);
      return taken === 1 ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: end - now };
    } catch (err) {
      this.failOpen(err);
      return { allowed: true, retryAfterMs: 0 };
    }
  }

  async peek(key: string, windowMs: number): Promise<number> {
    const now = this.now();
    await this.connected();
    try {
      return Number((await this.redis.get(this.key(key, windowMs, now - (now % windowMs)))) ?? 0);
    } catch (err) {
      throw new TallyError('unavailable', 'counters: Redis unavailable', {}, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }

  private key(key: string, windowMs: number, start: number): string {
    return `${this.prefix}:${key}:${windowMs}:${start}`;
  }

  /** Gives the first connection up to the timeout after start; after that a down connection fails at once. */
  private async connected(): Promise<void> {
    const wait = this.createdAt + this.timeoutMs - Date.now();
    if (this.everReady || wait <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.firstReady, new Promise((r) => (timer = setTimeout(r, wait)))]);
    clearTimeout(timer);
  }

  private failOpen(err: unknown): void {
    this.failedOpen++;
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    this.log?.warn({ err, allowedWithoutCounting: this.failedOpen }, 'counters: Redis unavailable, allowing requests without counting them (fail open)');
    this.failedOpen = 0;
  }
}
