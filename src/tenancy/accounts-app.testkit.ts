import { proxyTrust } from '../infra/http/proxy-trust.js';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { openDb, type Db } from '../infra/metadata/db.js';
import { MemoryCounters } from '../infra/counters/memory.counters.js';
import { OutboxMailer, readOutbox } from '../infra/mailer/outbox.mailer.js';
import { createLogger } from '../infra/logger.js';
import { CredentialCache } from './credential-cache.js';
import { loadCredentials } from './tenant.repository.js';
import { mountAccounts } from './accounts.module.js';
import type { ApiRoute } from './accounts.routes.js';

type TestRoutes = readonly ApiRoute[] | { routes: readonly ApiRoute[]; close(): Promise<void> };

/**
 * The accounts API on a real express app, a real PGlite metadata DB in a temp dir and the outbox
 * mailer, listening on a random port; the report routes answer a fixed body once authorised.
 */
export async function startAccountsApp(
  opts: {
    db?: Db;
    /** Other features' route tables, served behind the same guard; with what to close when they hold infrastructure (the data lifecycle's). */
    routes?: (deps: { db: Db; credentials: CredentialCache; dir: string }) => Promise<TestRoutes> | TestRoutes;
  } = {},
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-accounts-'));
  const db = opts.db ?? (await openDb({ dataDir: dir }));
  const log = createLogger(process.env.TALLY_TEST_LOG ?? 'silent');
  const credentials = new CredentialCache(() => loadCredentials(db), { refreshMs: 60_000, log });
  await credentials.start();
  const outbox = path.join(dir, 'outbox');
  const app = express();
  const counters = new MemoryCounters();
  const given = await opts.routes?.({ db, credentials, dir });
  const extra = given === undefined || 'routes' in given ? given : { routes: given, close: async () => undefined };
  const accounts = await mountAccounts(app, {
    routes: extra?.routes,
    db,
    counters,
    mailer: new OutboxMailer(outbox, 'Tally <t@t.test>'),
    credentials,
    publicUrl: 'http://console.test',
    proxy: proxyTrust({ kind: 'none' }),
    log,
  });
  app.post(['/v1beta/properties/:rest', '/v1alpha/properties/:rest'], async (req, res) => {
    const id = String(req.params.rest).split(':')[0];
    try {
      const p = await accounts.authorizeReport(req.headers.authorization?.replace(/^Bearer /, '') ?? null, id, req);
      res.json({ propertyId: p.propertyId });
    } catch (e) {
      const code = (e as { code?: string }).code;
      res.status(code === 'unauthenticated' ? 401 : code === 'not_found' ? 404 : code === 'permission_denied' ? 403 : 500).json({ error: code });
    }
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    db,
    baseUrl,
    service: accounts.service,
    credentials,
    counters,
    outbox: () => readOutbox(outbox),
    /** The token in the newest e-mail to `to` whose link contains `kind`. */
    tokenFor(to: string, kind: 'verify' | 'password-reset' | 'invitations'): string {
      const m = readOutbox(outbox)
        .filter((x) => x.to === to && x.body.includes(`/${kind}`))
        .pop();
      const match = m && new RegExp(`/${kind}(?:\\?token=|/)([\\w-]+)`).exec(m.body);
      if (!match) throw new Error(`no ${kind} e-mail to ${to}`);
      return match[1];
    },
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      credentials.stop();
      await accounts.close();
      await extra?.close();
      if (!opts.db) await db.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
