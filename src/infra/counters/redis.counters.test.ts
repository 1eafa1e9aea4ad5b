import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { keysUnder, suiteRedis, wipePrefix } from '../../../test/support/redis.js';
import { describeWithService } from '../../../test/support/services.js';
import { countersContract } from './counters.contract.js';
import { RedisCounters } from './redis.counters.js';

function capturingLogger() {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), lines };
}

describeWithService('RedisCounters', 'redis', 'REDIS_URL', (url) => {
  const admin = suiteRedis(url);

  countersContract('redis', async () => {
    const prefix = `tally-test-counters-${randomUUID()}`;
    return {
      open: () => new RedisCounters({ url, prefix }),
      shared: true,
      cleanup: () => wipePrefix(admin(), prefix),
    };
  });

  it('keeps one key per window under its prefix, expiring soon after the window ends', async () => {
    const prefix = `tally-test-counters-${randomUUID()}`;
    const c = new RedisCounters({ url, prefix, now: () => 1_000_250 });
    try {
      await c.take('rate:p1', 3, 10, 1_000);
      expect(await keysUnder(admin(), prefix)).toEqual([`${prefix}:rate:p1:1000:1000000`]);
      const ttl = await admin().pttl(`${prefix}:rate:p1:1000:1000000`);
      // 750 ms left in the window plus the 5 s allowance for clock skew between collectors
      expect(ttl).toBeGreaterThan(5_000);
      expect(ttl).toBeLessThanOrEqual(5_750);
    } finally {
      await c.close();
      await wipePrefix(admin(), prefix);
    }
  });
});

describe('RedisCounters when Redis cannot answer', () => {
  it('fails open at once when nothing listens, and warns once', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const { logger, lines } = capturingLogger();
    const c = new RedisCounters({ url: `redis://127.0.0.1:${port}`, timeoutMs: 200, logger });
    try {
      const t0 = Date.now();
      for (let i = 0; i < 5; i++) expect(await c.take('k', 1, 1, 1_000)).toEqual({ allowed: true, retryAfterMs: 0 });
      expect(Date.now() - t0).toBeLessThan(500);
      expect(lines.filter((l) => /fail open/.test(l.msg))).toHaveLength(1);
      await expect(c.peek('k', 1_000)).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      await c.close();
    }
  });

  it('fails open within the timeout when Redis accepts the connection but never answers', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    const c = new RedisCounters({ url: `redis://127.0.0.1:${port}`, timeoutMs: 200 });
    try {
      const t0 = Date.now();
      expect(await c.take('k', 1, 1, 1_000)).toEqual({ allowed: true, retryAfterMs: 0 });
      expect(await c.take('k', 1, 1, 1_000)).toEqual({ allowed: true, retryAfterMs: 0 });
      expect(Date.now() - t0).toBeLessThan(1_000);
    } finally {
      await c.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});
