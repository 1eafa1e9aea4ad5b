import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../../../test/support/services.js';
import { isTallyError } from '../errors.js';
import { objectStoreContract } from './object-store.contract.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3.object-store.js';

describeWithService('S3ObjectStore', 's3', 'S3_ENDPOINT', (endpoint) => {
  const base: S3ObjectStoreOptions = {
    bucket: process.env.S3_BUCKET ?? 'tally',
    region: process.env.S3_REGION ?? 'us-east-1',
    endpoint,
    forcePathStyle: process.env.S3_FORCE_PATH_STYLE !== 'false',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    },
  };
  // Every store gets its own folder in the shared bucket, so runs and workers never see each other.
  const freshPrefix = () => `test/s3-object-store/${randomUUID()}`;
  const wipe = async (prefix: string) => {
    const s = new S3ObjectStore({ ...base, prefix });
    await s.delete((await s.list('')).map((o) => o.key));
    await s.close();
  };

  objectStoreContract('s3', async () => {
    const prefix = freshPrefix();
    return { store: new S3ObjectStore({ ...base, prefix }), cleanup: () => wipe(prefix) };
  });

  it('uses multipart at the threshold and a single PUT below it', async () => {
    const prefix = freshPrefix();
    const store = new S3ObjectStore({ ...base, prefix, multipartThresholdBytes: 6 * 1024 * 1024 });
    const raw = new S3Client({ ...base });
    try {
      const big = randomBytes(12 * 1024 * 1024);
      await store.put('big', big);
      await store.put('small', randomBytes(6 * 1024 * 1024 - 1));
      // A multipart object's ETag is "<md5 of part md5s>-<part count>".
      const etag = async (key: string) => (await raw.send(new HeadObjectCommand({ Bucket: base.bucket, Key: `${prefix}/${key}` }))).ETag;
      expect(await etag('big')).toMatch(/-2"$/);
      expect(await etag('small')).not.toMatch(/-\d+"$/);
      expect((await store.get('big'))!.equals(big)).toBe(true);
    } finally {
      raw.destroy();
      await store.close();
      await wipe(prefix);
    }
  });

  it('keeps keys relative to its prefix and locates them as s3:// URLs', async () => {
    const prefix = freshPrefix();
    const a = new S3ObjectStore({ ...base, prefix });
    const b = new S3ObjectStore({ ...base, prefix: `${prefix}/` });
    const outside = new S3ObjectStore({ ...base, prefix: `${prefix}-other` });
    try {
      await a.put('x/y.bin', Buffer.from('1'));
      await outside.put('x/z.bin', Buffer.from('2'));
      expect((await b.get('x/y.bin'))!.toString()).toBe('1');
      expect((await a.list('')).map((o) => o.key)).toEqual(['x/y.bin']);
      expect(a.locate('x/y.bin')).toBe(`s3://${base.bucket}/${prefix}/x/y.bin`);
      expect(new S3ObjectStore({ ...base }).locate('k')).toBe(`s3://${base.bucket}/k`);
    } finally {
      await a.close();
      await b.close();
      await outside.close();
      await wipe(prefix);
      await wipe(`${prefix}-other`);
    }
  });

  it('rejects a prefix option that is not a valid key', () => {
    for (const prefix of ['/abs', 'a/../b', 'a//b']) {
      expect(() => new S3ObjectStore({ ...base, prefix }), prefix).toThrow(/invalid object key/);
    }
  });

  it('reports a missing bucket as unavailable instead of a missing object', async () => {
    const store = new S3ObjectStore({ ...base, bucket: `missing-${randomUUID()}`, maxAttempts: 1 });
    try {
      const e = await store.get('k').catch((err: unknown) => err);
      expect(isTallyError(e) && e.code).toBe('unavailable');
      expect(isTallyError(e) && e.details.awsCode).toBe('NoSuchBucket');
    } finally {
      await store.close();
    }
  });

  describeFlaky(endpoint, base, freshPrefix, wipe);
});

/** A proxy in front of the S3 server that answers 500 InternalError to the next `failuresLeft` requests. */
function describeFlaky(endpoint: string, base: S3ObjectStoreOptions, freshPrefix: () => string, wipe: (prefix: string) => Promise<void>): void {
  const target = new URL(endpoint);
  let server: Server;
  let proxyUrl: string;
  let failuresLeft = 0;
  let failed = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (failuresLeft > 0) {
        failuresLeft--;
        failed++;
        req.resume();
        // 500 rather than 503 SlowDown: the SDK backs off 5x longer on throttling, which only slows the test.
        res.writeHead(500, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0"?><Error><Code>InternalError</Code><Message>try again</Message></Error>');
        return;
      }
      const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('retries server errors with backoff, up to maxAttempts', async () => {
    const prefix = freshPrefix();
    const store = new S3ObjectStore({ ...base, endpoint: proxyUrl, prefix, maxAttempts: 4 });
    try {
      failed = 0;
      failuresLeft = 3;
      await store.put('k', Buffer.from('survived'));
      expect(failed).toBe(3);
      failuresLeft = 2;
      expect((await store.get('k'))!.toString()).toBe('survived');
      expect(failed).toBe(5);

      failuresLeft = 4;
      const e = await store.get('k').catch((err: unknown) => err);
      expect(isTallyError(e) && e.code).toBe('unavailable');
      expect(failed).toBe(9);
    } finally {
      failuresLeft = 0;
      await store.close();
      await wipe(prefix);
    }
  });
}
