import { createHash } from 'node:crypto';

type Row = Record<string, unknown>;

/** What a cached answer was read at: the "complete up to" mark, the load version, the currency rates version. */
export interface CacheVersion {
  completeUpTo: Date;
  loadVersion?: string | null;
  /** The last refresh of the warehouse's `fx_rates`; keys only the statements that read them. */
  ratesVersion?: string | null;
}

/** The statement converts money at the warehouse's rates (the catalog joins `fx_rates`, catalog-ecommerce.ts). */
export const readsRates = (sql: string) => /\bfx_rates\b/.test(sql);

export interface ReportCacheOptions {
  /** Statements kept (least recently used dropped first); default 2,000. */
  maxEntries?: number;
  /** Results with more rows are not kept; default 10,000. */
  maxRows?: number;
  /** A kept result is dropped after this long even if the mark did not move (a replay); default 10 min. */
  ttlMs?: number;
}

/**
 * The report result cache (issue 19): one per api process, in memory. An entry is one warehouse
 * statement's rows, keyed by the tenant and property (the key's prefix, beside being parameters
 * of the SQL), the compiled statement and its parameters (the normalised request: two requests
 * that mean the same compile to the same SQL), the property's "complete up to" mark and its load
 * version (its last partition load, from the metadata database). A pipeline run that finishes the
 * property moves the mark, and any partition load or reload (late data, a support replay, in
 * whichever process it ran) moves the load version: every later report misses and reads the new
 * numbers. A statement that converts money (it reads `fx_rates`) also keys on the rates version,
 * so a refresh of the rates by the `fx-rates` job makes every revenue answer miss, and only those.
 * Without a mark nothing is cached. `ttlMs` bounds an entry's life when neither is
 * known to move (no load version given), and `invalidate` drops a property's entries at once.
 * Funnels go through it as runReport's statements do (`through`).
 */
export class ReportCache {
  private readonly entries = new Map<string, { rows: Row[]; at: number; propertyKey: string }>();
  private readonly maxEntries: number;
  private readonly maxRows: number;
  private readonly ttlMs: number;
  hits = 0;
  misses = 0;

  constructor(opts: ReportCacheOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 2_000;
    this.maxRows = opts.maxRows ?? 10_000;
    this.ttlMs = opts.ttlMs ?? 600_000;
  }

  static key(scope: { tenantId: string; propertyId: string }, version: CacheVersion, q: { sql: string; params: readonly unknown[] }): string {
    const h = createHash('sha256')
      .update(q.sql)
      .update('\0')
      .update(JSON.stringify(q.params))
      .update('\0')
      .update(version.completeUpTo.toISOString())
      .update('\0')
      .update(version.loadVersion ?? '')
      .update('\0')
      .update(readsRates(q.sql) ? (version.ratesVersion ?? '') : '');
    return `${propertyKey(scope)}\0${h.digest('base64url')}`;
  }

  /**
   * One statement's rows through the cache: kept under `version`, or run (and kept) on a miss.
   * Without a version (no "complete up to" mark) it just runs. `hit` says nothing was read.
   */
  async through(
    scope: { tenantId: string; propertyId: string },
    version: CacheVersion | null,
    q: { sql: string; params: readonly unknown[] },
    run: () => Promise<Row[]>,
  ): Promise<{ rows: Row[]; hit: boolean }> {
    if (!version) return { rows: await run(), hit: false };
    const key = ReportCache.key(scope, version, q);
    const kept = this.get(key);
    if (kept) return { rows: kept, hit: true };
    const rows = await run();
    this.set(key, rows);
    return { rows, hit: false };
  }

  get(key: string, now = Date.now()): Row[] | undefined {
    const e = this.entries.get(key);
    if (!e || now - e.at > this.ttlMs) {
      if (e) this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    // most recently used last
    this.entries.delete(key);
    this.entries.set(key, e);
    this.hits++;
    return e.rows;
  }

  set(key: string, rows: Row[], now = Date.now()): void {
    if (rows.length > this.maxRows) return;
    this.entries.delete(key);
    this.entries.set(key, { rows, at: now, propertyKey: key.slice(0, key.indexOf('\0')) });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Drops every answer of one property (a replay reloaded its partitions). */
  invalidate(scope: { tenantId: string; propertyId: string }): void {
    const pk = propertyKey(scope);
    for (const [k, e] of this.entries) if (e.propertyKey === pk) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}

const propertyKey = (s: { tenantId: string; propertyId: string }) => JSON.stringify([s.tenantId, s.propertyId]);
