import { describe, expect, it } from 'vitest';
import { embeddedDbPerSuite } from '../infra/metadata/embedded-db.testkit.js';
import { CredentialCache } from './credential-cache.js';
import { CredentialVersionWatcher } from './credential-version.js';
import { setTenantPlan } from './tenant-admin.js';
import { createTenant, loadCredentials } from './tenant.repository.js';

describe('CredentialVersionWatcher', () => {
  const m = embeddedDbPerSuite('tally-credver-');

  it('picks up a change committed between the cache loading and its first poll (a process that just started)', async () => {
    const t = await createTenant(m.db, { name: 'Racer', email: 'owner@racer.test', domain: 'racer.test' });
    const cache = new CredentialCache(() => loadCredentials(m.db), { refreshMs: 600_000 });
    await cache.start();
    try {
      expect(cache.property(t.propertyId)?.planId).toBe('free');
      // another process upgrades the organisation before this one's watcher has read the version once
      await setTenantPlan(m.db, t.organizationId, 'growth');
      const watcher = new CredentialVersionWatcher(m.db, () => cache.refresh());
      expect(await watcher.poll()).toBe(true);
      expect(cache.property(t.propertyId)?.planId).toBe('growth');
      // nothing changed since: no reload; a later change: one
      expect(await watcher.poll()).toBe(false);
      await setTenantPlan(m.db, t.organizationId, 'scale');
      expect(await watcher.poll()).toBe(true);
      expect(cache.property(t.propertyId)?.planId).toBe('scale');
    } finally {
      cache.stop();
    }
  });
});
