import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { TallyError } from '../errors.js';
import type { ObjectInfo, ObjectStore } from './object-store.port.js';
import { checkObjectKey } from './object-key.js';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Folder inside the bucket that this store owns; keys are relative to it. */
  prefix?: string;
  region: string;
  /** For S3-compatible stores (moto, MinIO); omit for AWS. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Omit to use the SDK's default chain (env, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Bodies of this size or more go up as a multipart upload. Default 16 MiB. */
  multipartThresholdBytes?: number;
  /** Attempts per request, with the SDK's exponential backoff and jitter between them. Default 8. */
  maxAttempts?: number;
}

const MIB = 1024 * 1024;
const DEFAULT_MULTIPART_THRESHOLD = 16 * MIB;
/** S3's limits: parts of at least 5 MiB (but the last), at most 10,000 parts, 1,000 keys per DeleteObjects. */
const MIN_PART_SIZE = 5 * MIB;
const MAX_PARTS = 10_000;
const DELETE_BATCH = 1000;
const UPLOAD_QUEUE = 4;

/**
 * The object store on Amazon S3 or an S3-compatible server. A PutObject and a completed multipart
 * upload each replace the object atomically, which is what the port promises.
 */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly multipartThreshold: number;

  constructor(opts: S3ObjectStoreOptions) {
    if (!opts.bucket) throw new TallyError('invalid_argument', 'S3 object store: bucket is required');
    this.bucket = opts.bucket;
    this.prefix = normalizePrefix(opts.prefix ?? '');
    this.multipartThreshold = opts.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD;
    if (!(this.multipartThreshold > 0)) {
      throw new TallyError('invalid_argument', 'S3 object store: multipartThresholdBytes must be positive');
    }
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle,
      credentials: opts.credentials,
      maxAttempts: opts.maxAttempts ?? 8,
      retryMode: 'standard',
    });
  }

  async put(key: string, body: Buffer): Promise<void> {
    const Key = this.fullKey(key);
    try {
      if (body.length >= this.multipartThreshold) {
        const partSize = Math.max(MIN_PART_SIZE, Math.min(this.multipartThreshold, 8 * MIB), Math.ceil(body.length / MAX_PARTS));
        await new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key, Body: body },
          partSize,
          queueSize: UPLOAD_QUEUE,
          leavePartsOnError: false,
        }).done();
      } else {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body }));
      }
    } catch (e) {
      throw this.failure('put', e, key);
    }
  }

  async get(key: string): Promise<Buffer | null> {
    const Key = this.fullKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      if (!res.Body) return Buffer.alloc(0);
      const bytes = await res.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (e) {
      if (isNoSuchKey(e)) return null;
      throw this.failure('get', e, key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (prefix !== '') checkObjectKey(prefix, true);
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const page: ListObjectsV2CommandOutput = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined) continue;
          out.push({
            key: o.Key.slice(this.prefix.length),
            size: o.Size ?? 0,
            lastModified: o.LastModified?.getTime() ?? 0,
          });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw this.failure('list', e, prefix);
    }
    // S3 already lists in UTF-8 byte order; not every S3-compatible server does.
    out.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    return out;
  }

  async delete(keys: string[]): Promise<void> {
    const full = keys.map((k) => this.fullKey(k));
    for (let i = 0; i < full.length; i += DELETE_BATCH) {
      const batch = full.slice(i, i + DELETE_BATCH);
      let errors;
      try {
        const res = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        errors = res.Errors ?? [];
      } catch (e) {
        throw this.failure('delete', e, batch[0]);
      }
      if (errors.length > 0) {
        throw new TallyError('unavailable', `object store: cannot delete ${errors.length} object(s)`, {
          bucket: this.bucket,
          errors: errors.slice(0, 10).map((x) => ({ key: x.Key, code: x.Code, message: x.Message })),
        });
      }
    }
  }

  locate(key: string): string {
    return `s3://${this.bucket}/${this.fullKey(key)}`;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private fullKey(key: string): string {
    checkObjectKey(key, false);
    return this.prefix + key;
  }

  private failure(op: string, e: unknown, key: string | undefined): TallyError {
    if (e instanceof TallyError) return e;
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    return new TallyError(
      'unavailable',
      `object store: ${op} ${key ?? ''} failed: ${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`,
      { bucket: this.bucket, key, awsCode: err?.name, httpStatus: err?.$metadata?.httpStatusCode },
      { cause: e },
    );
  }
}

function isNoSuchKey(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (err?.name === 'NoSuchKey') return true;
  // Some S3-compatible servers answer a missing key with a bare 404.
  return err?.$metadata?.httpStatusCode === 404 && err?.name !== 'NoSuchBucket';
}

function normalizePrefix(prefix: string): string {
  if (prefix === '') return '';
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  checkObjectKey(p, true);
  return p;
}
