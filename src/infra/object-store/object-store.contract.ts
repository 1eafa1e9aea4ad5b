import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TallyError } from '../errors.js';
import type { ObjectStore } from './object-store.port.js';

export interface ObjectStoreUnderTest {
  /** An empty store, owned by this test alone. */
  store: ObjectStore;
  /** Removes whatever the test wrote; the store is already closed. */
  cleanup: () => Promise<void>;
}

/** Above the S3 store's default 16 MiB multipart threshold. */
const LARGE = 20 * 1024 * 1024;
/** More than one page of an S3 listing and more than one DeleteObjects batch. */
const MANY = 1005;

const INVALID_KEYS = ['', '/abs', '../up', 'a/../b', 'a/./b', '..', 'a//b', 'a\\b', 'a\0b', 'ends/with/', 'C:/x', 'k'.repeat(1025), 'a/.~put-x'];

/**
 * The behaviour every ObjectStore implementation must have (the folder store, S3).
 * Each test gets a fresh, empty store from `factory`.
 * Not covered, on purpose: a key that is also a folder of other keys ('a/b' beside 'a/b/c'). S3
 * allows it, a folder cannot hold it, and Tally's key layout never makes one.
 */
export function objectStoreContract(name: string, factory: () => Promise<ObjectStoreUnderTest>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let subject: ObjectStoreUnderTest;
    let store: ObjectStore;

    beforeEach(async () => {
      subject = await factory();
      store = subject.store;
    });
    afterEach(async () => {
      await store.close();
      await subject.cleanup();
    });

    it('round-trips binary and empty bodies byte for byte', async () => {
      const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const random = randomBytes(100_003);
      await store.put('rt/every-byte.bin', everyByte);
      await store.put('rt/random.bin', random);
      await store.put('rt/empty', Buffer.alloc(0));

      expect(await store.get('rt/every-byte.bin')).toEqual(everyByte);
      const got = await store.get('rt/random.bin');
      expect(Buffer.isBuffer(got)).toBe(true);
      expect(got!.equals(random)).toBe(true);
      const empty = await store.get('rt/empty');
      expect(empty).not.toBeNull();
      expect(empty!.length).toBe(0);
      expect((await store.list('rt/')).map((o) => [o.key, o.size])).toEqual([
        ['rt/empty', 0],
        ['rt/every-byte.bin', 256],
        ['rt/random.bin', 100_003],
      ]);
    });

    it('round-trips a 20 MB object and replaces it whole with a small one', async () => {
      const big = randomBytes(LARGE);
      const key = 'raw/tenant=t1/property=p1/dt=2024-01-01/hr=00/0-0-999.ndjson.zst';
      await store.put(key, big);
      const got = await store.get(key);
      expect(got!.length).toBe(LARGE);
      expect(sha256(got!)).toBe(sha256(big));
      expect(await store.list('raw/')).toMatchObject([{ key, size: LARGE }]);

      await store.put(key, Buffer.from('small'));
      expect((await store.get(key))!.toString()).toBe('small');
      expect(await store.list('raw/')).toMatchObject([{ key, size: 5 }]);
    });

    it('overwriting replaces the whole object, never a prefix of it', async () => {
      await store.put('ow/x', Buffer.alloc(50_000, 0x61));
      await store.put('ow/x', Buffer.from('bc'));
      expect((await store.get('ow/x'))!.toString()).toBe('bc');
      await store.put('ow/x', Buffer.alloc(3, 0x7a));
      expect((await store.get('ow/x'))!.toString()).toBe('zzz');
      expect((await store.list('ow/')).map((o) => o.size)).toEqual([3]);
    });

    it('gets null for a missing key, next to objects and where nothing exists', async () => {
      await store.put('m/a/present', Buffer.from('1'));
      expect(await store.get('m/a/absent')).toBeNull();
      expect(await store.get('m/a')).toBeNull();
      expect(await store.get('m/a/present/below')).toBeNull();
      expect(await store.get('nowhere/at/all')).toBeNull();
    });

    it('lists every key under a prefix, in byte order, with sizes, and nothing else', async () => {
      const fixture: Record<string, number> = {
        'raw/tenant=t1/property=p/dt=2024-01-02/hr=00/0-5-9.ndjson.zst': 11,
        'raw/tenant=t1/property=p/dt=2024-01-01/hr=23/1-0-4.ndjson.zst': 7,
        'raw/tenant=t1/property=p/dt=2024-01-01/hr=03/0-0-4.ndjson.zst': 3,
        'raw/tenant=t1/property=p/dt=2024-01-01/hr=03/0-0-4.ndjson.zst.b': 4,
        'raw/tenant=t1/property=q/dt=2024-01-01/hr=00/0-0-1.ndjson.zst': 2,
        'raw/tenant=t10/property=p/dt=2024-01-01/hr=00/0-0-1.ndjson.zst': 5,
        'raw/tenant=t2/property=p/dt=2024-01-01/hr=00/0-0-1.ndjson.zst': 13,
        'transformed/events/tenant=t1/property=p/dt=2024-01-01/part-0.parquet': 17,
        'order/a-b': 1,
        'order/a/b': 1,
        'order/B': 1,
        'order/a.b': 1,
        'order/é': 1,
        'order/z': 1,
      };
      await Promise.all(Object.entries(fixture).map(([key, size]) => store.put(key, Buffer.alloc(size, 0x2a))));
      const expected = (prefix: string) =>
        Object.keys(fixture)
          .filter((k) => k.startsWith(prefix))
          .sort(byteOrder)
          .map((key) => ({ key, size: fixture[key] }));
      const listed = async (prefix: string) => (await store.list(prefix)).map(({ key, size }) => ({ key, size }));

      for (const prefix of [
        'raw/tenant=t1/',
        'raw/tenant=t1',
        'raw/tenant=t1/property=p/dt=2024-01-01/',
        'raw/tenant=t1/property=p/dt=2024-01-01/hr=03/0-0-4.ndjson.zst',
        'raw/',
        'transformed/',
        'order/',
        '',
      ]) {
        expect(await listed(prefix), `prefix ${JSON.stringify(prefix)}`).toEqual(expected(prefix));
      }
      expect(await store.list('raw/tenant=t3/')).toEqual([]);
      expect(await store.list('nothing-here/')).toEqual([]);
      expect((await listed('order/')).map((o) => o.key)).toEqual(['order/B', 'order/a-b', 'order/a.b', 'order/a/b', 'order/z', 'order/é']);

      const now = Date.now();
      for (const o of await store.list('')) {
        expect(Math.abs(o.lastModified - now)).toBeLessThan(10 * 60_000);
      }
    });

    it(`lists and deletes more than a thousand keys (${MANY})`, async () => {
      const keys = Array.from({ length: MANY }, (_, i) => `many/k-${String(i).padStart(5, '0')}-${i % 7}`);
      await pool(keys, 4, (key, i) => store.put(key, Buffer.from(String(i))));
      await store.put('manz/outside', Buffer.from('x'));
      await store.put('man', Buffer.from('y'));

      const listed = await store.list('many/');
      expect(listed.length).toBe(MANY);
      expect(listed.map((o) => o.key)).toEqual([...keys].sort(byteOrder));
      expect(listed.map((o) => o.size)).toEqual([...keys].sort(byteOrder).map((k) => String(keys.indexOf(k)).length));
      expect((await store.list('man')).length).toBe(MANY + 2);

      await store.delete(keys);
      expect(await store.list('many/')).toEqual([]);
      expect((await store.list('')).map((o) => o.key)).toEqual(['man', 'manz/outside']);
    });

    it('deletes exactly the named keys; missing keys and an empty list are fine', async () => {
      await store.put('d/a', Buffer.from('a'));
      await store.put('d/ab', Buffer.from('ab'));
      await store.put('d/x/a', Buffer.from('xa'));
      await store.put('d/c', Buffer.from('c'));

      await store.delete(['d/a', 'd/missing', 'd/x', 'never/was/here']);
      await store.delete([]);
      expect(await store.get('d/a')).toBeNull();
      expect((await store.list('d/')).map((o) => o.key)).toEqual(['d/ab', 'd/c', 'd/x/a']);

      await store.delete(['d/x/a', 'd/ab', 'd/c', 'd/c']);
      expect(await store.list('')).toEqual([]);
      await store.delete(['d/c']);
    });

    it('rejects invalid keys with invalid_argument and writes nothing', async () => {
      for (const key of INVALID_KEYS) {
        const what = `key ${JSON.stringify(key)}`;
        await expectInvalid(() => store.put(key, Buffer.from('x')), `put ${what}`);
        await expectInvalid(() => store.get(key), `get ${what}`);
        await expectInvalid(() => store.delete(['ok/key', key]), `delete ${what}`);
        await expectInvalid(async () => store.locate(key), `locate ${what}`);
      }
      for (const prefix of ['/abs', '../', 'a/../', 'a\\']) {
        await expectInvalid(() => store.list(prefix), `list ${JSON.stringify(prefix)}`);
      }
      expect(await store.list('')).toEqual([]);
    });

    it('locates a key at an address that names it', async () => {
      const key = 'transformed/events/tenant=t1/property=p1/dt=2024-01-01/part-0.parquet';
      const where = store.locate(key);
      expect(where.endsWith(key)).toBe(true);
      expect(where.length).toBeGreaterThan(key.length);
      expect(store.locate('a/b')).not.toBe(store.locate('a/c'));
    });
  });
}

async function expectInvalid(fn: () => Promise<unknown>, what: string): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, what).toBeInstanceOf(TallyError);
  expect((caught as TallyError).code, what).toBe('invalid_argument');
}

async function pool<T>(items: T[], width: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
