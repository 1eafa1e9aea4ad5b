import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TallyError } from '../errors.js';
import { FolderObjectStore } from './folder.object-store.js';

let root: string;
let store: FolderObjectStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tally-folder-store-'));
  store = new FolderObjectStore(root);
});
afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

describe('FolderObjectStore', () => {
  it('round-trips bytes and returns null for a missing key', async () => {
    const body = Buffer.from([0, 1, 2, 250, 255]);
    await store.put('raw/tenant=t1/property=p1/dt=2024-01-01/hr=00/0-0-9.ndjson.gz', body);
    expect(await store.get('raw/tenant=t1/property=p1/dt=2024-01-01/hr=00/0-0-9.ndjson.gz')).toEqual(body);
    expect(await store.get('raw/tenant=t1/property=p1/dt=2024-01-01/hr=00/none')).toBeNull();
    expect(await store.get('nowhere/at/all')).toBeNull();
  });

  it('replaces an object whole and leaves no temp file behind', async () => {
    await store.put('a/b/c.bin', Buffer.alloc(100_000, 1));
    await store.put('a/b/c.bin', Buffer.from('short'));
    expect((await store.get('a/b/c.bin'))!.toString()).toBe('short');
    expect(await readdir(join(root, 'a/b'))).toEqual(['c.bin']);
  });

  it('lists by prefix recursively, in key order, with sizes', async () => {
    const keys = [
      'raw/tenant=t/property=p/dt=2024-01-02/hr=00/0-5-9.ndjson.gz',
      'raw/tenant=t/property=p/dt=2024-01-01/hr=23/1-0-4.ndjson.gz',
      'raw/tenant=t/property=p/dt=2024-01-01/hr=03/0-0-4.ndjson.gz',
      'raw/tenant=t/property=p2/dt=2024-01-01/hr=03/0-0-4.ndjson.gz',
      'raw/tenant=t/property=p/other',
      'transformed/events/x.parquet',
    ];
    for (const [i, k] of keys.entries()) await store.put(k, Buffer.alloc(i + 1));

    const listed = await store.list('raw/tenant=t/property=p/dt=');
    expect(listed.map((o) => o.key)).toEqual([
      'raw/tenant=t/property=p/dt=2024-01-01/hr=03/0-0-4.ndjson.gz',
      'raw/tenant=t/property=p/dt=2024-01-01/hr=23/1-0-4.ndjson.gz',
      'raw/tenant=t/property=p/dt=2024-01-02/hr=00/0-5-9.ndjson.gz',
    ]);
    expect(listed.map((o) => o.size)).toEqual([3, 2, 1]);
    expect(listed.every((o) => o.lastModified > 0)).toBe(true);

    expect((await store.list('raw/tenant=t/property=p/dt=2024-01-01/')).length).toBe(2);
    // 'property=p' as a prefix also matches 'property=p2', as on S3
    expect((await store.list('raw/tenant=t/property=p')).length).toBe(5);
    expect((await store.list('')).map((o) => o.key)).toEqual([...keys].sort());
    expect(await store.list('raw/tenant=missing/')).toEqual([]);
    expect(await store.list('nothing-here')).toEqual([]);
  });

  it('ignores a temp file left by a crashed put', async () => {
    await store.put('d/real.bin', Buffer.from('x'));
    await writeFile(join(root, 'd', '.~put-deadbeef'), 'partial');
    expect((await store.list('d/')).map((o) => o.key)).toEqual(['d/real.bin']);
  });

  it('deletes, tolerating keys that do not exist', async () => {
    await store.put('x/1', Buffer.from('1'));
    await store.put('x/2', Buffer.from('2'));
    await store.delete(['x/1', 'x/missing', 'y/missing/deeper']);
    expect((await store.list('x/')).map((o) => o.key)).toEqual(['x/2']);
    expect(await store.get('x/1')).toBeNull();
  });

  it('locates a key as an absolute path holding the bytes', async () => {
    await store.put('p/q.txt', Buffer.from('hello'));
    const path = store.locate('p/q.txt');
    expect(isAbsolute(path)).toBe(true);
    expect((await readFile(path)).toString()).toBe('hello');
  });

  it('refuses keys that could escape the root or are malformed', async () => {
    const bad = ['../etc/passwd', 'a/../../b', '/abs/key', 'a\\b', 'a//b', 'a/./b', '', 'a/', 'C:/x', 'a/.~put-x'];
    for (const key of bad) {
      await expect(store.put(key, Buffer.from('x')), key).rejects.toSatisfy((e: unknown) => e instanceof TallyError && e.code === 'invalid_argument');
      expect(() => store.locate(key), key).toThrow(TallyError);
    }
    await expect(store.list('../')).rejects.toBeInstanceOf(TallyError);
    await expect(store.get('a/../b')).rejects.toBeInstanceOf(TallyError);
    await expect(store.delete(['/etc/hosts'])).rejects.toBeInstanceOf(TallyError);
  });

  it('keeps concurrent writers of the same key whole', async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(50_000, i));
    await Promise.all(bodies.map((b) => store.put('race/k', b)));
    const got = (await store.get('race/k'))!;
    expect(bodies.some((b) => b.equals(got))).toBe(true);
    expect(await readdir(join(root, 'race'))).toEqual(['k']);
  });
});
