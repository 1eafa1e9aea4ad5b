import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { describeWithService } from '../../test/support/services.js';
import { MemorySaltStore, SharedSaltStore, VisitorIds } from './visitor-id.js';

const DAY = 86_400_000;
const T = Date.UTC(2026, 0, 15, 10);
const v = { propertyId: '400000001', ip: '203.0.113.7', userAgent: 'Mozilla/5.0 Chrome/120' };

describe('cookieless visitor ids', () => {
  it('are stable within a UTC day and differ by property, IP and user agent', async () => {
    const ids = new VisitorIds(new MemorySaltStore());
    const a = await ids.visitorId(v, T);
    expect(a).toMatch(/^cl_[0-9a-f]{32}$/);
    expect(await ids.visitorId(v, T + 13 * 3_600_000 - 1)).toBe(a);
    expect(await ids.visitorId({ ...v, propertyId: '400000002' }, T)).not.toBe(a);
    expect(await ids.visitorId({ ...v, ip: '203.0.113.8' }, T)).not.toBe(a);
    expect(await ids.visitorId({ ...v, userAgent: 'Mozilla/5.0 Firefox/120' }, T)).not.toBe(a);
  });

  it('change at midnight UTC, and a past day cannot be recomputed once its salt is gone', async () => {
    const ids = new VisitorIds(new MemorySaltStore());
    const today = await ids.visitorId(v, T);
    const tomorrow = await ids.visitorId(v, T + DAY);
    expect(tomorrow).not.toBe(today);
    // the store forgot the old day: asking for it again draws a fresh random salt
    expect(await ids.visitorId(v, T)).not.toBe(today);
  });

  it('differ between processes with memory salts (random, derived from nothing)', async () => {
    expect(await new VisitorIds(new MemorySaltStore()).visitorId(v, T)).not.toBe(await new VisitorIds(new MemorySaltStore()).visitorId(v, T));
  });
});

describeWithService('cookieless visitor ids shared through Redis', 'redis', 'REDIS_URL', (redisUrl) => {
  const redis = new Redis(redisUrl);
  const prefix = `tally-test:visitor-salt:${process.pid}:${Date.now()}:`;
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('give two collectors the same id, and the salt expires at the end of its day', async () => {
    const now = Date.now();
    const a = new VisitorIds(new SharedSaltStore(redis, prefix));
    const b = new VisitorIds(new SharedSaltStore(redis, prefix));
    const [ia, ib] = await Promise.all([a.visitorId(v, now), b.visitorId(v, now)]);
    expect(ia).toBe(ib);
    const day = new Date(Math.floor(now / DAY) * DAY).toISOString().slice(0, 10);
    const expireAt = await redis.call('PEXPIRETIME', `${prefix}${day}`);
    expect(Number(expireAt)).toBe(Math.floor(now / DAY) * DAY + DAY);
  });
});
