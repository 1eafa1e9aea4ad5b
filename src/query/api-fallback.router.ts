import express, { type NextFunction, type Request, type Response } from 'express';
import { TallyError } from '../infra/errors.js';
import { sendGoogleError } from './google-error.js';

/** GA4 Data API methods Tally does not answer (yet): 501 UNIMPLEMENTED, as Google answers an unimplemented RPC. */
export const UNIMPLEMENTED_GA4_METHODS = ['runAccessReport', 'getMetadata'] as const;

/**
 * Mounted last on the API app: whatever no router answered gets Google's JSON error shape, never
 * Express's HTML page. A known GA4 Data API method Tally does not implement is 501 UNIMPLEMENTED,
 * any other path 404 NOT_FOUND; an error that reached here is answered (and, if 5xx, logged with
 * its stack) by the one Google-error writer.
 */
export function createApiFallbackRouter(deps: { logError?: (err: unknown) => void } = {}): express.Router {
  const router = express.Router();
  router.use((req: Request, _res: Response, next: NextFunction) => {
    const m = /^\/v1(?:alpha|beta)\/properties\/[^/]+:([A-Za-z]+)$/.exec(req.path);
    const method = m?.[1];
    if (method && (UNIMPLEMENTED_GA4_METHODS as readonly string[]).includes(method)) {
      return next(new TallyError('unimplemented', `Method ${method} is not implemented by Tally.`, { reason: 'unimplemented' }));
    }
    next(new TallyError('not_found', `No API method at ${req.method} ${req.path}.`, { reason: 'not_found' }));
  });
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    sendGoogleError(res, err, deps.logError);
  });
  return router;
}
