import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { parseRawKey, rewrittenRawKey } from '../domain/transformed-schema.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { RawManifestEntry } from './lifecycle.ports.js';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

export interface RewriteResult {
  /** Objects read. */
  scanned: number;
  /** Records dropped. */
  removed: number;
  /** Old key -> the new object (null when nothing was left of it). */
  rewritten: { from: string; to: RawManifestEntry | null }[];
}

/**
 * Writes the NDJSON(.gz) objects under `prefix` again without the records `drop` matches: each
 * object that held one is written whole under a new key (`rewrittenRawKey`); the caller records the
 * new keys, forgets the old ones and only then deletes them (`replaceRawObjects`), so a crash
 * leaves records twice (deduplicated by event id), never lost. Objects holding none stay as they are.
 */
export async function rewriteRawObjects(
  store: ObjectStore,
  prefix: string,
  tag: string,
  drop: (rec: Record<string, unknown>) => boolean,
  onObject?: (done: number, total: number) => void,
): Promise<RewriteResult> {
  const objects = (await store.list(prefix)).filter((o) => parseRawKey(o.key));
  const out: RewriteResult = { scanned: 0, removed: 0, rewritten: [] };
  for (const o of objects) {
    const body = await store.get(o.key);
    out.scanned++;
    onObject?.(out.scanned, objects.length);
    if (!body) continue;
    const text = (o.key.endsWith('.gz') ? await gunzip(body) : body).toString('utf8');
    const kept: string[] = [];
    let removed = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const line of text.split('\n')) {
      if (!line) continue;
      const rec = parseLine(line);
      if (rec && drop(rec)) {
        removed++;
        continue;
      }
      kept.push(line);
      const t = Number(rec?.client_ts ?? rec?.received_at);
      if (Number.isFinite(t)) {
        min = Math.min(min, t);
        max = Math.max(max, t);
      }
    }
    if (!removed) continue;
    out.removed += removed;
    const raw = parseRawKey(o.key)!;
    let to: RawManifestEntry | null = null;
    if (kept.length) {
      const key = rewrittenRawKey(o.key, tag);
      const data = Buffer.from(kept.join('\n') + '\n');
      await store.put(key, key.endsWith('.gz') ? await gzip(data) : data);
      const span = Number.isFinite(min) ? { minEventMs: min, maxEventMs: max } : { minEventMs: raw.hourStartMs, maxEventMs: raw.hourStartMs };
      to = { key, tenantId: raw.tenantId, propertyId: raw.propertyId, records: kept.length, ...span };
    }
    out.rewritten.push({ from: o.key, to });
  }
  return out;
}

function parseLine(line: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(line);
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

/** Records the rewritten objects in the manifest (raw zone only), forgets the old keys, then deletes the old objects. */
export async function replaceRawObjects(
  store: ObjectStore,
  manifest: { recordRawObjects(e: RawManifestEntry[]): Promise<void>; forgetRawObjects(keys: string[]): Promise<void> } | null,
  rewritten: RewriteResult['rewritten'],
): Promise<void> {
  if (!rewritten.length) return;
  const old = rewritten.map((r) => r.from);
  if (manifest) {
    await manifest.recordRawObjects(rewritten.flatMap((r) => (r.to ? [r.to] : [])));
    await manifest.forgetRawObjects(old);
  }
  await store.delete(old);
}
