import { hashSecret, type KeyScope } from './secrets.js';
import type { KeyRow, PropertyRow } from './tenant.repository.js';
import type { Logger } from '../infra/logger.js';
import { hostMatcher, type HostMatcher } from '../domain/allowed-hostnames.js';

export type CredentialSnapshot = { keys: KeyRow[]; properties: PropertyRow[] };

/**
 * Keys and properties held in memory so the collector never reads the metadata DB per
 * request. Refreshed periodically (`refreshMs`); and on a miss the caller may wait for one refresh
 * (`awaitRefresh`), so a key or property created by another process a moment ago works on its
 * first request. Refreshes start at most once per `missRefreshMs` (1 s), whatever unknown ids
 * arrive: concurrent misses share one refresh, and a miss never waits longer than `missWaitMs`.
 * While the DB is down the last snapshot keeps serving.
 */
export class CredentialCache {
  private byHash = new Map<string, KeyRow>();
  private byProperty = new Map<string, PropertyRow>();
  /** Public ids: measurement ids (`G-…`) and site ids; never the numeric property id. */
  private byPublicId = new Map<string, PropertyRow>();
  private byDomain = new Map<string, PropertyRow>();
  private hosts = new Map<string, HostMatcher>();
  /** Hashes of keys used since the last `takeUsed()`: their last-used time is written in batches. */
  private used = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private lastStart = 0;
  private refreshing: Promise<void> | null = null;
  /** The refresh misses wait for: one that starts after them. Shared by every miss until it starts. */
  private nextForMisses: Promise<boolean> | null = null;

  constructor(
    private readonly load: () => Promise<CredentialSnapshot>,
    private readonly opts: { refreshMs: number; missRefreshMs?: number; missWaitMs?: number; log?: Logger },
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
    this.lastStart = Date.now();
    this.refreshing = (async () => {
      try {
        const snap = await this.load();
        this.apply(snap);
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
    const byPublicId = new Map<string, PropertyRow>();
    const hosts = new Map<string, HostMatcher>();
    for (const p of snap.properties) {
      byProperty.set(p.propertyId, p);
      byPublicId.set(p.measurementId, p);
      if (p.siteId) byPublicId.set(p.siteId, p);
      hosts.set(p.propertyId, hostMatcher(p.domain, p.allowedHostnames ?? []));
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
    this.byPublicId = byPublicId;
    this.hosts = hosts;
  }

  /**
   * After a miss: waits for one refresh that starts after now (true when it completed within
   * `missWaitMs`, so the caller looks again; false otherwise). Concurrent misses share it, and it
   * starts no sooner than `missRefreshMs` after the previous refresh started, so a flood of
   * unknown ids costs the DB at most one read per second.
   */
  awaitRefresh(): Promise<boolean> {
    this.nextForMisses ??= this.refreshForMisses();
    return this.nextForMisses;
  }

  private refreshForMisses(): Promise<boolean> {
    const gap = this.opts.missRefreshMs ?? 1000;
    const work = (async () => {
      const delay = this.lastStart + gap - Date.now();
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      // a refresh already running read its snapshot before this miss: wait for it, then start ours
      if (this.refreshing) await this.refreshing.catch(() => undefined);
      this.nextForMisses = null; // misses from now on need a refresh that starts after them
      await this.refresh();
      return true;
    })().catch(() => false);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), this.opts.missWaitMs ?? 1500);
      timer.unref();
    });
    return Promise.race([work.finally(() => clearTimeout(timer)), bound]);
  }

  /** The property a key of `scope` belongs to, or null (unknown, revoked, or another scope). */
  resolveKey(secret: string, scope: KeyScope): PropertyRow | null {
    const k = this.byHash.get(hashSecret(secret));
    if (!k || k.scope !== scope) return null;
    this.used.add(k.hash);
    return this.byProperty.get(k.property_id) ?? null;
  }

  /** GA4 MP: the property of a measurement id, when `apiSecret` is one of its secrets. */
  resolveMeasurement(measurementId: string, apiSecret: string): { property: PropertyRow } | { error: 'unknown_measurement_id' | 'bad_api_secret' } {
    const p = this.byPublicId.get(measurementId);
    if (!p || p.measurementId !== measurementId) return { error: 'unknown_measurement_id' };
    const k = this.byHash.get(hashSecret(apiSecret));
    if (!k || k.scope !== 'mp_secret' || k.property_id !== p.propertyId) return { error: 'bad_api_secret' };
    this.used.add(k.hash);
    return { property: p };
  }

  /**
   * A property by a public id (its measurement id `G-…` or its site id), for protocols that carry
   * no secret: gtag `tid`, the pixel, tally.js, Snowplow `aid`, Umami `website`. The numeric
   * property id is sequential, so anyone could enumerate it: it is never accepted here.
   */
  resolvePublicId(id: string): PropertyRow | null {
    return this.byPublicId.get(id) ?? null;
  }

  /** Whether a browser hit from `host` (lower case, no port) may be counted for `property`. */
  hostAllowed(property: PropertyRow, host: string): boolean {
    return this.hosts.get(property.propertyId)?.(host) ?? false;
  }

  /** Whether any property allows `host`: a CORS preflight names no property yet. */
  anyAllows(host: string): boolean {
    for (const m of this.hosts.values()) if (m(host)) return true;
    return false;
  }

  /**
   * Plausible: the property whose `domain` (a comma-separated list; `www.` and case ignored) names
   * this domain. When two properties claim one domain the older one keeps it, so a newer tenant
   * cannot divert another's traffic by claiming its domain.
   */
  resolveDomain(domain: string): PropertyRow | null {
    return this.byDomain.get(domainsOf(domain)[0] ?? '') ?? null;
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
  return (list ?? '')
    .split(',')
    .map((d) =>
      d
        .trim()
        .toLowerCase()
        .replace(/^www\./, ''),
    )
    .filter(Boolean);
}
