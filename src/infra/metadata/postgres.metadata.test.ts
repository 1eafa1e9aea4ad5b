import { afterAll, describe } from 'vitest';
import { describeWithService } from '../../../test/support/services.js';
import { openDb } from './db.js';
import { metadataContract } from './metadata.contract.js';
import { createTestDatabase } from './test-database.testkit.js';

describeWithService('metadata on PostgreSQL', 'postgres', 'DATABASE_URL', (baseUrl) => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => drop?.());
  describe('the metadata contract', () => {
    metadataContract(async () => {
      const t = await createTestDatabase(baseUrl, 'meta');
      drop = t.drop;
      return openDb({ url: t.url, dataDir: '/nonexistent' });
    });
  });
});
