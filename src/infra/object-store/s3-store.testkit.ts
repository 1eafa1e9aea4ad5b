import { requireService } from '../../../test/support/services.js';
import { S3ObjectStore } from './s3.object-store.js';

/**
 * A store on the services profile's S3 (moto) under a prefix of its own, `<name>-<time>/`; null
 * when S3 is not configured (under CI=true, requireService fails the test instead).
 */
export function servicesS3Store(name: string): S3ObjectStore | null {
  const bucket = requireService('s3', 'S3_BUCKET');
  if (!bucket) return null;
  return new S3ObjectStore({
    bucket,
    prefix: `${name}-${Date.now()}/`,
    region: process.env.S3_REGION ?? 'us-east-1',
    endpoint: process.env.S3_ENDPOINT,
    forcePathStyle: true,
  });
}
