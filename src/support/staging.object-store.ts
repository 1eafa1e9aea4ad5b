import type { ObjectInfo, ObjectStore } from '../infra/object-store/object-store.port.js';

/**
 * A view of the object store for a dry run: what an engine writes (and the transformed zone it
 * reads back) lives under `prefix`; every other key (the raw zone) is the real store's. Nothing is
 * ever written or deleted outside `prefix`, so a dry run cannot touch the real transformed zone.
 */
export class StagingObjectStore implements ObjectStore {
  private readonly written = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    readonly prefix: string,
  ) {}

  private staged(key: string): boolean {
    return key.startsWith('transformed/') || key.startsWith('state/');
  }

  private map(key: string): string {
    return this.staged(key) || this.written.has(key) ? this.prefix + key : key;
  }

  put(key: string, body: Buffer): Promise<void> {
    this.written.add(key);
    return this.store.put(this.prefix + key, body);
  }

  get(key: string): Promise<Buffer | null> {
    return this.store.get(this.map(key));
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (!this.staged(prefix)) return this.store.list(prefix);
    return (await this.store.list(this.prefix + prefix)).map((o) => ({ ...o, key: o.key.slice(this.prefix.length) }));
  }

  delete(keys: string[]): Promise<void> {
    return this.store.delete(keys.map((k) => this.prefix + k));
  }

  locate(key: string): string {
    return this.store.locate(this.map(key));
  }

  /** Removes everything staged (the staging area of one replay). */
  async clear(): Promise<void> {
    const keys = (await this.store.list(this.prefix)).map((o) => o.key);
    if (keys.length) await this.store.delete(keys);
  }

  async close(): Promise<void> {
    // the real store is closed by its owner
  }
}
