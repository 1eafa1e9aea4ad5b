import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

/**
 * The operator endpoint (`/internal/...`, used by the CLI) on its own listener bound to
 * 127.0.0.1 on a port the OS picks, recorded in the data dir's server.json. It never shares the
 * public listener, so a proxy or a firewall mistake cannot expose it. (A Unix socket in the data
 * dir was the alternative: its path is limited to ~104 bytes, which a deep data dir exceeds, and
 * Node's fetch cannot reach it; the admin token in the 0600 file guards the port instead.)
 */
export async function startAdminListener(router: express.Router): Promise<{ port: number; close(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.use(router);
  app.use((_req, res) => void res.status(404).json({ error: { code: 'not_found', reason: 'not_found', message: 'no such endpoint' } }));
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      }),
  };
}
