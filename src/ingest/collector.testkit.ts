import { proxyTrust } from '../infra/http/proxy-trust.js';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Counters } from '../infra/counters/counters.port.js';
import { MemoryCounters } from '../infra/counters/memory.counters.js';
import type { LogOutput } from '../infra/event-log/event-log.port.js';
import { LocalEventLog } from '../infra/event-log/local.event-log.js';
import { createLogger } from '../infra/logger.js';
import { openDb, type Db } from '../infra/metadata/db.js';
import { CredentialCache } from '../tenancy/credential-cache.js';
import { createTenant, loadCredentials, type CreateTenantInput, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { createCollector } from './collector.http.js';
import { IngestService } from './ingest.service.js';
import { VisitorIds } from './visitor-id.js';

/**
 * An in-process collector on the real parts (PGlite metadata, the local event log, the credential
 * cache, memory or given counters) for tests of the edge: `post`/`get` it, then `records` reads
 * what it appended to the raw-events and dead-letter outputs.
 */
export async function startTestCollector(
  opts: { counters?: Counters; anonymousPerIp?: { ratePerSecond: number; burst: number }; db?: Db; trustProxy?: boolean } = {},
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-collector-'));
  const db = opts.db ?? (await openDb({ dataDir: dir }));
  const log = await LocalEventLog.open({ dir: path.join(dir, 'log'), partitions: 2 });
  const counters = opts.counters ?? new MemoryCounters();
  const credentials = new CredentialCache(() => loadCredentials(db), { refreshMs: 3_600_000 });
  await credentials.start();
  const ingest = new IngestService({
    log,
    counters,
    geo: { lookup: () => ({ country: null, region: null, city: null }) },
    anonymousPerIp: opts.anonymousPerIp,
  });
  const collector = createCollector({
    ingest,
    credentials,
    visitorIds: new VisitorIds(),
    log: createLogger('silent'),
    proxy: proxyTrust(opts.trustProxy ? { kind: 'hops', hops: 1 } : { kind: 'none' }),
  });
  const server = http.createServer((req, res) => {
    if (!collector.handler(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let group = 0;
  return {
    baseUrl,
    db,
    credentials,
    /** A tenant created in the metadata DB, then visible to the collector. */
    async tenant(input: Partial<CreateTenantInput> & { name: string }): Promise<CreatedTenant> {
      const t = await createTenant(db, { email: `${input.name.toLowerCase()}@example.com`, domain: `${input.name.toLowerCase()}.test`, ...input });
      await credentials.refresh();
      return t;
    },
    fetch: (p: string, init?: RequestInit) => fetch(`${baseUrl}${p}`, init),
    /** Everything appended to `output` so far, parsed. */
    async records(output: LogOutput): Promise<any[]> {
      const end = await log.endOffsets(output);
      const want = end.reduce((a, b) => a + b, 0);
      const out: any[] = [];
      if (!want) return out;
      let got: () => void = () => undefined;
      const done = new Promise<void>((r) => (got = r));
      const consumer = await log.consume(
        output,
        `test-${group++}`,
        async (batch) => {
          for (const r of batch.records) out.push(JSON.parse(r.value.toString()));
          if (out.length >= want) got();
        },
        { maxWaitMs: 10 },
      );
      await Promise.race([done, new Promise((r) => setTimeout(r, 5_000))]);
      await consumer.stop();
      return out;
    },
    async close() {
      credentials.stop();
      await new Promise((r) => server.close(r));
      server.closeAllConnections();
      await log.close();
      await counters.close();
      if (!opts.db) await db.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
