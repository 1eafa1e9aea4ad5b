import { hashSecret, type KeyScope } from './secrets.js';
import type { KeyRow, PropertyRow } from './tenant.repository.js';
import type { Logger } from '../infra/logger.js';

export type CredentialSnapshot = { keys: KeyRow[]; properties: PropertyRow[] };

/**
 * Keys and properties held in memory so the collector never reads the metadata DB per
 * request. Refreshed periodically, and soon after a miss (throttled), so a key created by another
 * process works within about a second and a revoked key stops within `refreshMs`. While the DB is
 * down the last snapshot keeps serving.
 */
export class CredentialCache {
  private byHash = new Map<string, KeyRow>();
  private byProperty = new Map<string, PropertyRow>();
  private byMeasurementId = new Map<string, PropertyRow>();
  private byDomain = new Map<string, PropertyRow>();
  /** Hashes of keys used since the last `takeUsed()`: their last-used time is written in batches. */
  private used = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private lastRefresh = 0;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly load: () => Promise<CredentialSnapshot>,
    private readonly opts: { refreshMs: number; missRefreshMs?: number; log?: Logger },
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.opts.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      try {
        const snap = await this.load();
        this.apply(snap);
        this.lastRefresh = Date.now();
      } catch (err) {
        this.opts.log?.warn({ err }, 'credential refresh failed; serving the last snapshot');
        throw err;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  apply(snap: CredentialSnapshot): void {
    const byHash = new Map<string, KeyRow>();
    for (const k of snap.keys) byHash.set(k.hash, k);
    const byProperty = new Map<string, PropertyRow>();
    const byMeasurementId = new Map<string, PropertyRow>();
    for (const p of snap.properties) {
      byProperty.set(p.propertyId, p);
      byMeasurementId.set(p.measurementId, p);
    }
    const byDomain = new Map<string, PropertyRow>();
    for (const p of snap.properties) {
      for (const d of domainsOf(p.domain)) {
        const owner = byDomain.get(d);
        if (!owner || Number(p.propertyId) < Number(owner.propertyId)) byDomain.set(d, p);
      }
    }
    this.byDomain = byDomain;
    this.byHash = byHash;
    this.byProperty = byProperty;
    this.byMeasurementId = byMeasurementId;
  }

  private onMiss(): void {
    const wait = this.opts.missRefreshMs ?? 1000;
    if (Date.now() - this.lastRefresh >= wait) void this.refresh().catch(() => undefined);
  }

  /** The property a key of `scope` belongs to, or null (unknown, revoked, or another scope). */
  resolveKey(secret: string, scope: KeyScope): PropertyRow | null {
    const k = this.byHash.get(hashSecret(secret));
    if (!k || k.scope !== scope) {
      this.onMiss();
      return null;
    }
    this.used.add(k.hash);
    return this.byProperty.get(k.property_id) ?? null;
  }

  /** GA4 MP: the property of a measurement id, when `apiSecret` is one of its secrets. */
  resolveMeasurement(measurementId: string, apiSecret: string): { property: PropertyRow } | { error: 'unknown_measurement_id' | 'bad_api_secret' } {
    const p = this.byMeasurementId.get(measurementId);
    if (!p) {
      this.onMiss();
      return { error: 'unknown_measurement_id' };
    }
    const k = this.byHash.get(hashSecret(apiSecret));
    if (!k || k.scope !== 'mp_secret' || k.property_id !== p.propertyId) {
      this.onMiss();
      return { error: 'bad_api_secret' };
    }
    this.used.add(k.hash);
    return { property: p };
  }

  /**
   * A property by a public identifier (its measurement id `G-…` or its numeric property id), for
   * protocols that carry no secret: gtag `tid`, the pixel, Snowplow `aid`.
   */
  resolvePublicId(id: string): PropertyRow | null {
    const p = this.byMeasurementId.get(id) ?? this.byProperty.get(id) ?? null;
    if (!p) this.onMiss();
    return p;
  }

  /**
   * Plausible: the property whose `domain` (a comma-separated list; `www.` and case ignored) names
   * this domain. When two properties claim one domain the older one keeps it, so a newer tenant
   * cannot divert another's traffic by claiming its domain.
   */
  resolveDomain(domain: string): PropertyRow | null {
    const p = this.byDomain.get(domainsOf(domain)[0] ?? '') ?? null;
    if (!p) this.onMiss();
    return p;
  }

  takeUsed(): string[] {
    const out = [...this.used];
    this.used.clear();
    return out;
  }

  property(propertyId: string): PropertyRow | null {
    return this.byProperty.get(propertyId) ?? null;
  }

  properties(): PropertyRow[] {
    return [...this.byProperty.values()];
  }
}

function domainsOf(list: string | null | undefined): string[] {
  return (list ?? '').split(',').map((d) => d.trim().toLowerCase().replace(/^www\./, '')).filter(Boolean);
}
