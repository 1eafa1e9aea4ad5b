import { Redis } from 'ioredis';
import type { BucketLimit, CounterWindow, Counters, TakeResult } from './counters.port.js';
import { bucketRetryAfterMs } from './token-bucket.js';
import { windowBounds } from './window.js';
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

/**
 * Token bucket. KEYS[1] the bucket (a hash: `t` tokens, `at` ms of the last update);
 * ARGV: n, rate per second, burst, 1 to take or 0 to peek. Time is Redis's own (TIME), so every
 * collector refills the same bucket by one clock. Returns {1|0, tokens as a string} (Lua numbers
 * would be truncated to integers): 1 when taken, tokens left (or, refused or peeked, tokens there).
 */
const TAKE_TOKENS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(v[1])
local at = tonumber(v[2])
if tokens == nil or at == nil then
  tokens = burst
elseif now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
end
if ARGV[4] ~= '1' then return {0, tostring(tokens)} end
if tokens < math.min(n, burst) then return {0, tostring(tokens)} end
tokens = tokens - n
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return {1, tostring(tokens)}
`;

/** Keys outlive their window by this much, so a collector whose clock is a little behind still finds them. */
const EXPIRY_SLACK_MS = 5_000;
const WARN_EVERY_MS = 10_000;

type WithTake = Redis & {
  tallyTake(key: string, n: number, limit: number, ttlMs: number): Promise<[number, number]>;
  tallyTakeTokens(key: string, n: number, rate: number, burst: number, take: 0 | 1): Promise<[number, string]>;
};

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
    this.redis.defineCommand('tallyTakeTokens', { numberOfKeys: 1, lua: TAKE_TOKENS });
    this.redis.on('error', () => undefined);
    this.firstReady = new Promise((resolve) =>
      this.redis.once('ready', () => {
        this.everReady = true;
        resolve();
      }),
    );
  }

  async take(key: string, n: number, limit: number, window: CounterWindow): Promise<TakeResult> {
    const now = this.now();
    const { start, end } = windowBounds(window, now);
    try {
      await this.connected();
      const ttlMs = Math.max(end - now, 0) + EXPIRY_SLACK_MS;
      const [taken, count] = await this.redis.tallyTake(this.key(key, end - start, start), n, limit, ttlMs);
      return taken === 1 ? { allowed: true, retryAfterMs: 0, count: Number(count) } : { allowed: false, retryAfterMs: end - now, count: Number(count) };
    } catch (err) {
      this.failOpen(err);
      return { allowed: true, retryAfterMs: 0 };
    }
  }

  /** Token bucket in one Lua script (read, refill, take, expire when it would be full again); fails open as `take`. */
  async takeTokens(key: string, n: number, limit: BucketLimit): Promise<TakeResult> {
    try {
      await this.connected();
      const [taken, tokens] = await this.redis.tallyTakeTokens(this.bucketKey(key), n, limit.ratePerSecond, limit.burst, 1);
      if (taken === 1) return { allowed: true, retryAfterMs: 0 };
      return { allowed: false, retryAfterMs: bucketRetryAfterMs(Number(tokens), Math.min(n, limit.burst), limit) };
    } catch (err) {
      this.failOpen(err);
      return { allowed: true, retryAfterMs: 0 };
    }
  }

  async peekTokens(key: string, limit: BucketLimit): Promise<number> {
    await this.connected();
    try {
      const [, tokens] = await this.redis.tallyTakeTokens(this.bucketKey(key), 0, limit.ratePerSecond, limit.burst, 0);
      return Number(tokens);
    } catch (err) {
      throw new TallyError('unavailable', 'counters: Redis unavailable', {}, { cause: err });
    }
  }

  private bucketKey(key: string): string {
    return `${this.prefix}:bucket:${key}`;
  }

  async peek(key: string, window: CounterWindow): Promise<number> {
    const { start, end } = windowBounds(window, this.now());
    await this.connected();
    try {
      return Number((await this.redis.get(this.key(key, end - start, start))) ?? 0);
    } catch (err) {
      throw new TallyError('unavailable', 'counters: Redis unavailable', {}, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }

  /** `prefix:key:length:start`: a given window and an aligned one of the same bounds share a key. */
  private key(key: string, lengthMs: number, start: number): string {
    return `${this.prefix}:${key}:${lengthMs}:${start}`;
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
