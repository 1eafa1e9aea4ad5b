import fs from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';

/** Where `npm run build:web` (Vite) writes the console; git-ignored. */
export const CONSOLE_DIST = path.resolve(import.meta.dirname, '../../web/dist');

/**
 * Paths that belong to an API, never to the console's history router: an unknown API path keeps
 * its JSON 404 instead of receiving the console's index.html.
 */
const API_PREFIXES = ['/api/', '/v1beta/', '/v1alpha/', '/v1/', '/internal/', '/mp/', '/debug/', '/t/', '/openapi.json', '/metrics', '/healthz', '/readyz'];

/**
 * The console's Content-Security-Policy: everything from this origin, no inline script or style
 * element (Vite emits external files only; uPlot and Preact set styles through the CSSOM, which a
 * CSP does not restrict), no framing.
 */
export const CONSOLE_CSP: Record<string, string[]> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/**
 * The web console (`web/`, built by Vite) at `/`: static assets with immutable caching, every
 * other GET that is not an API path answered with index.html (the client routes), helmet's
 * security headers and a strict CSP on every console response. Mount it after the API routers.
 */
export function createConsoleRouter(opts: { dir?: string } = {}): express.Router {
  const dir = opts.dir ?? CONSOLE_DIST;
  const router = express.Router();
  const isConsoleRequest = (req: Request) =>
    (req.method === 'GET' || req.method === 'HEAD') && !API_PREFIXES.some((p) => req.path === p.replace(/\/$/, '') || req.path.startsWith(p));
  const headers = helmet({
    // upgrade-insecure-requests would break a console served over plain HTTP on localhost
    contentSecurityPolicy: { useDefaults: false, directives: CONSOLE_CSP },
    strictTransportSecurity: false,
  });
  const hsts = helmet.strictTransportSecurity();

  router.use((req: Request, res: Response, next: NextFunction) => {
    if (!isConsoleRequest(req)) return next('router');
    headers(req, res, (err?: unknown) => {
      if (err) return next(err);
      // HSTS only means something over TLS (directly or behind a trusted proxy)
      if (req.secure) hsts(req, res, next);
      else next();
    });
  });
  router.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false }));
  router.use(express.static(dir, { index: false, maxAge: '1h' }));
  router.use((req: Request, res: Response) => {
    // a missing file (has an extension) is a 404, a client route gets the app
    if (path.extname(req.path) !== '') return void res.status(404).type('text/plain').send('not found');
    const index = path.join(dir, 'index.html');
    if (!fs.existsSync(index)) {
      return void res.status(503).type('text/plain').send('The web console is not built. Run `npm run build:web` (npm start and npm test do it for you).');
    }
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}
